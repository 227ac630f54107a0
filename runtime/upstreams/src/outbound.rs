//! Outbound HTTP: one pooled client for every dependency (LLM upstreams, Sophia),
//! so connections are reused and limits live in one place. Each dependency sets
//! its own request timeout per call (`RequestBuilder::timeout`) from
//! [`DependencyTimeouts`]; the client itself only bounds connecting.

use std::time::Duration;

/// Time allowed to open a TCP/TLS connection to any dependency.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Idle connections kept per host: enough for the worker concurrency we run.
const MAX_IDLE_PER_HOST: usize = 32;

/// Whole-request timeouts per dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyTimeouts {
    /// An LLM completion can legitimately take long (generation on a CPU server).
    pub llm: Duration,
    /// Sophia ingest: uploads of up to the media size limit.
    pub sophia: Duration,
}

impl Default for DependencyTimeouts {
    fn default() -> Self {
        Self {
            llm: Duration::from_secs(120),
            sophia: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the outbound HTTP client: {0}")]
pub struct ClientBuildError(#[from] reqwest::Error);

/// The shared client: connection pooling, connect timeout, a user agent naming us.
pub fn build_client() -> Result<reqwest::Client, ClientBuildError> {
    Ok(reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("hermes-runtime/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_client_builds_with_the_process_tls_provider() {
        assert!(build_client().is_ok());
    }

    #[test]
    fn llm_calls_may_take_longer_than_sophia_uploads() {
        let t = DependencyTimeouts::default();
        assert!(t.llm > t.sophia);
    }
}
