//! The fault-injection testing aid's settings from the environment (`HERMES_FAULT_*`).

use std::time::Duration;

use hermes_interface::env;

use super::error::ConfigError;
use crate::fault::FaultConfig;

/// Longest injectable delay: a minute is plenty for any test.
const MAX_LATENCY_MS: u64 = 60_000;

/// Reads the two variables through the same lookup as `Config::from_lookup`.
/// Reads the two variables through the same lookup as `Config::from_lookup`.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<FaultConfig, ConfigError> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let error_rate = match get(env::FAULT_5XX_RATE) {
        None => 0.0,
        Some(v) => match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                return Err(ConfigError {
                    variable: env::FAULT_5XX_RATE,
                    problem: format!("invalid value {v:?}: expected a fraction in 0..=1"),
                });
            }
        },
    };
    let latency = match get(env::FAULT_LATENCY_MS) {
        None => Duration::ZERO,
        Some(v) => match v.parse::<u64>() {
            Ok(ms) if ms <= MAX_LATENCY_MS => Duration::from_millis(ms),
            _ => {
                return Err(ConfigError {
                    variable: env::FAULT_LATENCY_MS,
                    problem: format!(
                        "invalid value {v:?}: expected milliseconds in 0..={MAX_LATENCY_MS}"
                    ),
                });
            }
        },
    };
    Ok(FaultConfig {
        error_rate,
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn off_by_default() {
        let c = from_lookup(lookup(&[])).expect("config");
        assert!(!c.active());
        assert_eq!(c.health(), None);
    }

    #[test]
    fn parses_and_rejects() {
        let c = from_lookup(lookup(&[
            ("HERMES_FAULT_5XX_RATE", "0.2"),
            ("HERMES_FAULT_LATENCY_MS", "300"),
        ]))
        .expect("config");
        assert_eq!(c.error_rate, 0.2);
        assert_eq!(c.latency, Duration::from_millis(300));
        let health = c.health().expect("active");
        assert_eq!(health["error_rate"], 0.2);
        assert_eq!(health["latency_ms"], 300);
        let err =
            from_lookup(lookup(&[("HERMES_FAULT_5XX_RATE", "1.5")])).expect_err("out of range");
        assert_eq!(
            err.to_string(),
            "HERMES_FAULT_5XX_RATE: invalid value \"1.5\": expected a fraction in 0..=1"
        );
        assert!(from_lookup(lookup(&[("HERMES_FAULT_LATENCY_MS", "-1")])).is_err());
    }
}
