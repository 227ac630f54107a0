//! `/stt` settings from the environment (read by `Config::from_lookup`).

use hermes_interface::env;

use crate::config::ConfigError;

/// Default upload limit: 25 MiB, as the earlier service and OpenAI's API allow.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Default longest audio: one hour.
pub const DEFAULT_MAX_SECONDS: f64 = 3600.0;
/// Default transcriptions one model admits (running + waiting) before it answers 503.
pub const DEFAULT_QUEUE: usize = 32;
const MAX_THREADS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SttConfig {
    /// Largest accepted upload, in bytes (`HERMES_STT_MAX_BYTES`); larger -> 413.
    pub max_bytes: u64,
    /// Longest accepted audio, in seconds (`HERMES_STT_MAX_SECONDS`); longer -> 413.
    pub max_seconds: f64,
    /// Threads whisper.cpp uses for one transcription (`HERMES_STT_THREADS`).
    pub threads: usize,
    /// Transcriptions one model runs at the same time (`HERMES_STT_CONCURRENCY`).
    pub concurrency: usize,
    /// Transcriptions one model admits, running + waiting (`HERMES_STT_QUEUE`).
    pub queue: usize,
}

impl Default for SttConfig {
    /// One transcription at a time using every core: whisper.cpp scales well with
    /// threads, so this gives the lowest latency; raise the concurrency (and lower
    /// the threads) for throughput on machines with many cores.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_seconds: DEFAULT_MAX_SECONDS,
            threads: cores.min(8),
            concurrency: 1,
            queue: DEFAULT_QUEUE,
        }
    }
}

impl SttConfig {
    /// Reads the `HERMES_STT_*` variables through `get` (trimmed, empty = unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let count = |name: &'static str, default: usize, max: usize| match get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ConfigError::new(
                    name,
                    format!("invalid value {v:?}: expected a whole number in 1..={max}"),
                )),
            },
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
        Ok(Self {
            max_bytes,
            max_seconds,
            threads: count(env::STT_THREADS, defaults.threads, MAX_THREADS)?,
            concurrency: count(env::STT_CONCURRENCY, defaults.concurrency, MAX_THREADS)?,
            queue: count(env::STT_QUEUE, defaults.queue, 100_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<SttConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        SttConfig::from_lookup(|name| map.get(name).map(|v| v.to_string()))
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
