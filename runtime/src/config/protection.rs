//! The protection settings from the environment: API keys, open paths, input
//! limits, rate limits, `Retry-After` and the connection timeouts.

use std::path::PathBuf;
use std::time::Duration;

use hermes_interface::env;

use super::error::{ConfigError, whole_number};
use crate::protection::keys::{ApiKey, parse_key_list};
use crate::protection::ratelimit::{Costs, RateLimits};
use crate::protection::route_timeouts::{
    DEFAULT_ROUTE_TIMEOUTS, DEFAULT_TIMEOUT_MS, RequestTimeouts,
};

/// Everything the protection layers need, validated once.
#[derive(Debug, Clone)]
pub struct ProtectionConfig {
    /// Keys from `HERMES_API_KEYS`.
    pub api_keys: Vec<ApiKey>,
    /// `HERMES_API_KEYS_FILE`: re-read when it changes.
    pub api_keys_file: Option<PathBuf>,
    pub open_paths: Vec<String>,
    pub max_text_chars: usize,
    /// Texts one `/v1/embeddings` request may hold.
    pub embeddings_max_inputs: usize,
    pub max_json_body_bytes: usize,
    pub rate_limits: RateLimits,
    pub retry_after: Duration,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    /// Per-route limits until a response starts (504 past them).
    pub request_timeouts: RequestTimeouts,
}

pub const DEFAULT_OPEN_PATHS: &str = "/livez,/readyz,/health,/v1/health,/metrics,/openapi.json";
pub const DEFAULT_MAX_TEXT_CHARS: usize = 10_000;
pub const DEFAULT_MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;
pub const DEFAULT_LLM_PER_MINUTE: u32 = 10;
pub const DEFAULT_PER_MINUTE: u32 = 600;
pub const DEFAULT_COSTS: &str = "stt=10,tts=5,ingest=10";

/// Reads the protection variables through the same lookup as `Config::from_lookup`.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ProtectionConfig, ConfigError> {
    let api_keys = match get(env::API_KEYS) {
        None => Vec::new(),
        Some(v) => parse_key_list(v.split(',')).map_err(|p| ConfigError::new(env::API_KEYS, p))?,
    };
    let api_keys_file = get(env::API_KEYS_FILE).map(PathBuf::from);
    if let Some(path) = &api_keys_file {
        // Read once now so a missing or malformed file stops the start.
        crate::protection::keys::read_key_file(path)
            .map_err(|p| ConfigError::new(env::API_KEYS_FILE, p))?;
    }
    let open_paths: Vec<String> = get(env::AUTH_OPEN_PATHS)
        .unwrap_or_else(|| DEFAULT_OPEN_PATHS.into())
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = open_paths.iter().find(|p| !p.starts_with('/')) {
        return Err(ConfigError::new(
            env::AUTH_OPEN_PATHS,
            format!("invalid path {bad:?}: paths start with '/'"),
        ));
    }
    let max_text_chars = whole_number(
        &get,
        env::MAX_TEXT_CHARS,
        DEFAULT_MAX_TEXT_CHARS as u64,
        1..=10_000_000,
    )? as usize;
    let embeddings_max_inputs =
        whole_number(&get, env::EMBEDDINGS_MAX_INPUTS, 256, 1..=2048)? as usize;
    let max_json_body_bytes = whole_number(
        &get,
        env::MAX_JSON_BODY_BYTES,
        DEFAULT_MAX_JSON_BODY_BYTES as u64,
        1024..=1 << 30,
    )? as usize;
    let llm_per_minute = whole_number(
        &get,
        env::RATE_LIMIT_LLM_PER_MINUTE,
        u64::from(DEFAULT_LLM_PER_MINUTE),
        0..=1_000_000,
    )? as u32;
    let per_minute = whole_number(
        &get,
        env::RATE_LIMIT_PER_MINUTE,
        u64::from(DEFAULT_PER_MINUTE),
        0..=100_000_000,
    )? as u32;
    let costs = Costs::parse(&get(env::RATE_LIMIT_COSTS).unwrap_or_else(|| DEFAULT_COSTS.into()))
        .map_err(|p| ConfigError::new(env::RATE_LIMIT_COSTS, p))?;
    let retry_after =
        Duration::from_secs(whole_number(&get, env::RETRY_AFTER_SECONDS, 1, 1..=3600)?);
    let header_read_timeout = Duration::from_millis(whole_number(
        &get,
        env::HEADER_READ_TIMEOUT_MS,
        10_000,
        10..=600_000,
    )?);
    let body_read_timeout = Duration::from_millis(whole_number(
        &get,
        env::BODY_READ_TIMEOUT_MS,
        30_000,
        10..=3_600_000,
    )?);
    let max_connections = whole_number(&get, env::MAX_CONNECTIONS, 1024, 1..=1_000_000)? as usize;
    let default_timeout_ms = whole_number(
        &get,
        env::REQUEST_TIMEOUT_MS,
        DEFAULT_TIMEOUT_MS,
        0..=86_400_000,
    )?;
    let request_timeouts = RequestTimeouts::parse(
        default_timeout_ms,
        &get(env::ROUTE_TIMEOUTS_MS).unwrap_or_else(|| DEFAULT_ROUTE_TIMEOUTS.into()),
    )
    .map_err(|p| ConfigError::new(env::ROUTE_TIMEOUTS_MS, p))?;
    Ok(ProtectionConfig {
        api_keys,
        api_keys_file,
        open_paths,
        max_text_chars,
        embeddings_max_inputs,
        max_json_body_bytes,
        rate_limits: RateLimits {
            llm_per_minute,
            per_minute,
            costs,
        },
        retry_after,
        header_read_timeout,
        body_read_timeout,
        max_connections,
        request_timeouts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<ProtectionConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_review() {
        let c = load(&[]).unwrap();
        assert!(c.api_keys.is_empty());
        assert_eq!(c.max_text_chars, 10_000);
        assert_eq!(c.rate_limits.llm_per_minute, 10);
        assert!(c.open_paths.contains(&"/metrics".to_owned()));
        assert_eq!(c.rate_limits.costs.of("stt"), 10);
        assert_eq!(c.rate_limits.costs.of("embed_text"), 1);
    }

    #[test]
    fn named_keys_and_invalid_values() {
        let c = load(&[(env::API_KEYS, "alice:k-alice, k-bare")]).unwrap();
        let names: Vec<&str> = c.api_keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["alice", "key-2"]);
        for (var, value) in [
            (env::MAX_TEXT_CHARS, "0"),
            (env::RATE_LIMIT_COSTS, "stt=x"),
            (env::RATE_LIMIT_COSTS, "nosuchroute=2"),
            (env::AUTH_OPEN_PATHS, "health"),
            (env::API_KEYS_FILE, "/nonexistent/keys"),
            (env::API_KEYS, "alice:"),
            (env::ROUTE_TIMEOUTS_MS, "stt=soon"),
            (env::REQUEST_TIMEOUT_MS, "-5"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}: {err}");
        }
    }
}
