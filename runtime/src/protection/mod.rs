//! Protection of the HTTP surface (issue 15): API keys ([`auth`]), rate limits
//! ([`throttle`] over the token buckets of [`ratelimit`]), input limits
//! ([`input`]), per-route request timeouts ([`timeout`], limits in
//! [`route_timeouts`]), JSON bodies and `Retry-After` on every error
//! ([`json_errors`]), the body-read deadline ([`body_deadline`]) and log hygiene
//! ([`redact`]). The
//! connection limits live in the accept loop (`listener`), which also wraps each
//! socket so that hyper's own error answers get a JSON body ([`hyper_errors`]).

pub mod auth;
pub mod body_deadline;
pub mod excerpt;
pub mod hyper_errors;
pub mod input;
pub mod json_errors;
pub mod keys;
pub mod ratelimit;
pub mod redact;
pub mod route_timeouts;
pub mod throttle;
pub mod timeout;

use std::sync::Arc;
use std::time::Duration;

use crate::config::ProtectionConfig;
use crate::metrics::Metrics;

/// Who made a request, as the rate limits and logs see it: the API key's name.
#[derive(Debug, Clone)]
pub struct KeyName(pub String);

/// What the protection middlewares share, built once at start.
#[derive(Debug)]
pub struct Protection {
    pub keys: Arc<keys::KeyRing>,
    pub open_paths: Vec<String>,
    pub limits: ratelimit::RateLimits,
    pub buckets: ratelimit::Buckets,
    pub retry_after: Duration,
    pub timeouts: route_timeouts::RequestTimeouts,
    pub metrics: Arc<Metrics>,
}

/// How often the key file is checked for changes.
pub const KEY_FILE_POLL: Duration = Duration::from_secs(1);

impl Protection {
    /// Builds the shared state; starts watching the key file (needs a Tokio runtime).
    pub fn start(config: &ProtectionConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        let keys = Arc::new(keys::KeyRing::new(
            config.api_keys.clone(),
            config.api_keys_file.clone(),
        ));
        keys.watch(KEY_FILE_POLL);
        Arc::new(Self {
            keys,
            open_paths: config.open_paths.clone(),
            limits: config.rate_limits.clone(),
            buckets: ratelimit::Buckets::default(),
            retry_after: config.retry_after,
            timeouts: config.request_timeouts.clone(),
            metrics,
        })
    }
}
