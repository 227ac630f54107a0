//! Embedding settings from the environment (`HERMES_EMBEDDING_*`) into the engine's
//! plain [`EmbeddingConfig`]: batching, queue, ONNX Runtime sessions and threads, cache.

use std::time::Duration;

use hermes_engine::config::EmbeddingConfig;
use hermes_interface::env;

use super::error::{ConfigError, whole_count};

const MAX_BATCH_SIZE: u64 = 1024;
const MAX_BATCH_TOKENS: u64 = 1 << 20;
const MAX_WAIT_MS: u64 = 10_000;
const MAX_QUEUE: u64 = 1_000_000;
const MAX_SESSIONS: u64 = 64;
const MAX_THREADS: u64 = 256;

/// Reads the `HERMES_EMBEDDING_*` variables through `get` (trimmed, empty = unset).
/// The ONNX Runtime library is the voices' (`HERMES_ORT_LIB`), set by the caller.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<EmbeddingConfig, ConfigError> {
    let defaults = EmbeddingConfig::default();
    let number = |name: &'static str, default: usize, min: u64, max: u64| {
        whole_count(&get, name, default, min..=max)
    };
    let max_wait_ms = number(
        env::EMBEDDING_MAX_WAIT_MS,
        usize::try_from(defaults.max_wait.as_millis()).unwrap_or(0),
        0,
        MAX_WAIT_MS,
    )?;
    Ok(EmbeddingConfig {
        batch_size: number(
            env::EMBEDDING_BATCH_SIZE,
            defaults.batch_size,
            1,
            MAX_BATCH_SIZE,
        )?,
        batch_tokens: number(
            env::EMBEDDING_BATCH_TOKENS,
            defaults.batch_tokens,
            1,
            MAX_BATCH_TOKENS,
        )?,
        max_wait: Duration::from_millis(max_wait_ms as u64),
        queue: number(env::EMBEDDING_QUEUE, defaults.queue, 1, MAX_QUEUE)?,
        sessions: number(env::EMBEDDING_SESSIONS, defaults.sessions, 1, MAX_SESSIONS)?,
        intra_threads: number(
            env::EMBEDDING_THREADS,
            defaults.intra_threads,
            1,
            MAX_THREADS,
        )?,
        cache_bytes: number(
            env::EMBEDDING_CACHE_BYTES,
            defaults.cache_bytes,
            0,
            u64::MAX,
        )?,
        ort_lib: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<EmbeddingConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        from_lookup(|name| map.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_and_explicit_values() {
        let d = parse(&[]).unwrap();
        assert_eq!((d.batch_size, d.batch_tokens, d.queue), (8, 8192, 1024));
        assert_eq!(d.max_wait, Duration::ZERO);
        assert!((1..=2).contains(&d.sessions));
        assert!(d.intra_threads >= 1);
        assert_eq!(d.cache_bytes, 32 * 1024 * 1024);
        let c = parse(&[
            (env::EMBEDDING_BATCH_SIZE, "8"),
            (env::EMBEDDING_BATCH_TOKENS, "2048"),
            (env::EMBEDDING_MAX_WAIT_MS, "5"),
            (env::EMBEDDING_QUEUE, "3"),
            (env::EMBEDDING_SESSIONS, "2"),
            (env::EMBEDDING_THREADS, "1"),
            (env::EMBEDDING_CACHE_BYTES, "0"),
        ])
        .unwrap();
        assert_eq!(
            c,
            EmbeddingConfig {
                batch_size: 8,
                batch_tokens: 2048,
                max_wait: Duration::from_millis(5),
                queue: 3,
                sessions: 2,
                intra_threads: 1,
                cache_bytes: 0,
                ort_lib: None,
            }
        );
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            (env::EMBEDDING_BATCH_SIZE, "0"),
            (env::EMBEDDING_BATCH_SIZE, "2000"),
            (env::EMBEDDING_BATCH_TOKENS, "lots"),
            (env::EMBEDDING_MAX_WAIT_MS, "-1"),
            (env::EMBEDDING_MAX_WAIT_MS, "60000"),
            (env::EMBEDDING_QUEUE, "0"),
            (env::EMBEDDING_SESSIONS, "65"),
            (env::EMBEDDING_THREADS, "0"),
            (env::EMBEDDING_CACHE_BYTES, "32MiB"),
        ] {
            let err = parse(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}: {err}");
        }
    }
}
