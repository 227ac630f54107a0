//! Outbox and dependency-timeout settings from the environment (`HERMES_OUTBOX_*`,
//! `HERMES_MILVUS_TIMEOUT_MS`, `HERMES_RETRY_MAX_DELAY_MS`) into the upstreams'
//! plain [`DeliveryConfig`].

use std::path::PathBuf;
use std::time::Duration;

use hermes_interface::env;
use hermes_upstreams::config::{
    DEFAULT_MILVUS_TIMEOUT, DEFAULT_OUTBOX_DIR, DEFAULT_OUTBOX_MAX_BYTES,
    DEFAULT_OUTBOX_MAX_RECORDS, DEFAULT_RETRY_MAX_DELAY, DeliveryConfig,
};
use hermes_upstreams::outbox::OutboxLimits;

use super::error::{ConfigError, whole_number};

/// Reads the settings; `get` returns trimmed, non-empty values.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<DeliveryConfig, ConfigError> {
    let number = |name: &'static str, default: u64, min: u64, max: u64| {
        whole_number(&get, name, default, min..=max)
    };
    Ok(DeliveryConfig {
        outbox_dir: PathBuf::from(
            get(env::OUTBOX_DIR).unwrap_or_else(|| DEFAULT_OUTBOX_DIR.into()),
        ),
        outbox_limits: OutboxLimits {
            max_bytes: number(
                env::OUTBOX_MAX_BYTES,
                DEFAULT_OUTBOX_MAX_BYTES,
                1024,
                1 << 40,
            )?,
            max_records: number(
                env::OUTBOX_MAX_RECORDS,
                DEFAULT_OUTBOX_MAX_RECORDS,
                1,
                1 << 32,
            )?,
        },
        milvus_timeout: Duration::from_millis(number(
            env::MILVUS_TIMEOUT_MS,
            DEFAULT_MILVUS_TIMEOUT.as_millis() as u64,
            10,
            600_000,
        )?),
        retry_max_delay: Duration::from_millis(number(
            env::RETRY_MAX_DELAY_MS,
            DEFAULT_RETRY_MAX_DELAY.as_millis() as u64,
            10,
            3_600_000,
        )?),
        outbox_drain: Duration::from_secs(number(
            env::OUTBOX_DRAIN_SECONDS,
            u64::from(env::DEFAULT_OUTBOX_DRAIN_SECONDS),
            0,
            3600,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = from_lookup(|_| None).unwrap();
        assert_eq!(c.outbox_dir, PathBuf::from("hermes-outbox"));
        assert_eq!(c.outbox_limits.max_records, 100_000);
        assert_eq!(c.outbox_drain, Duration::from_secs(20));
        assert_eq!(c.milvus_timeout, Duration::from_secs(3));
        let err =
            from_lookup(|n| (n == env::OUTBOX_MAX_RECORDS).then(|| "lots".to_owned())).unwrap_err();
        assert_eq!(err.variable, env::OUTBOX_MAX_RECORDS);
        let c = from_lookup(|n| match n {
            env::OUTBOX_DIR => Some("/var/lib/hermes/outbox".into()),
            env::MILVUS_TIMEOUT_MS => Some("250".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.outbox_dir, PathBuf::from("/var/lib/hermes/outbox"));
        assert_eq!(c.milvus_timeout, Duration::from_millis(250));
    }
}
