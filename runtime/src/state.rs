//! What every handler can reach, built once and complete before the router:
//! configuration, models, the LLM gateway, deliveries (Milvus, Sophia), metrics.

use std::sync::Arc;
use std::time::Instant;

use hermes_engine::models::registry::Registry;
use hermes_upstreams::deliveries::Deliveries;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::protection::Protection;

/// Version reported by `/`, `/health` and `hermes_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub started_at: Instant,
    /// The LLM gateway (providers, the upstream's breaker and retry budget).
    pub gateway: Arc<Gateway>,
    /// Milvus persistence and Sophia deliveries, through the durable outbox.
    pub deliveries: Arc<Deliveries>,
    /// API keys and rate-limit buckets.
    pub protection: Arc<Protection>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}
