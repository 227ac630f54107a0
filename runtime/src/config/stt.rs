//! `/stt` settings from the environment (`HERMES_STT_*`) into the engine's plain
//! [`SttConfig`].

use hermes_engine::config::SttConfig;
use hermes_interface::env;

use super::error::{ConfigError, whole_count};

const MAX_THREADS: usize = 64;

/// Reads the `HERMES_STT_*` variables through `get` (trimmed, empty = unset).
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<SttConfig, ConfigError> {
    let defaults = SttConfig::default();
    let count = |name: &'static str, default: usize, max: usize| {
        whole_count(&get, name, default, 1..=max as u64)
    };
    let max_bytes = match get(env::STT_MAX_BYTES) {
        None => defaults.max_bytes,
        Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ConfigError::new(
                env::STT_MAX_BYTES,
                format!("invalid value {v:?}: expected a positive number of bytes"),
            )
        })?,
    };
    let max_seconds = match get(env::STT_MAX_SECONDS) {
        None => defaults.max_seconds,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
            .ok_or_else(|| {
                ConfigError::new(
                    env::STT_MAX_SECONDS,
                    format!("invalid value {v:?}: expected seconds in (0, 86400]"),
                )
            })?,
    };
    Ok(SttConfig {
        max_bytes,
        max_seconds,
        threads: count(env::STT_THREADS, defaults.threads, MAX_THREADS)?,
        concurrency: count(env::STT_CONCURRENCY, defaults.concurrency, MAX_THREADS)?,
        queue: count(env::STT_QUEUE, defaults.queue, 100_000)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<SttConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        from_lookup(|name| map.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_and_explicit_values() {
        let d = parse(&[]).unwrap();
        assert_eq!(d.max_bytes, 26_214_400);
        assert_eq!(d.concurrency, 1);
        assert!(d.threads >= 1);
        let c = parse(&[
            (env::STT_MAX_BYTES, "1000"),
            (env::STT_MAX_SECONDS, "90.5"),
            (env::STT_THREADS, "3"),
            (env::STT_CONCURRENCY, "2"),
            (env::STT_QUEUE, "5"),
        ])
        .unwrap();
        assert_eq!(
            c,
            SttConfig {
                max_bytes: 1000,
                max_seconds: 90.5,
                threads: 3,
                concurrency: 2,
                queue: 5
            }
        );
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            (env::STT_MAX_BYTES, "0"),
            (env::STT_MAX_BYTES, "25MB"),
            (env::STT_MAX_SECONDS, "-1"),
            (env::STT_THREADS, "0"),
            (env::STT_THREADS, "many"),
            (env::STT_CONCURRENCY, "1000"),
            (env::STT_QUEUE, "0"),
        ] {
            let err = parse(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}: {err}");
        }
    }
}
