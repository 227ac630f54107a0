//! What every handler can reach: configuration, models, metrics.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::models::registry::Registry;

/// Version reported by `/`, `/health` and `hermes_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The one pooled client for outbound HTTP ([`crate::outbound`]).
    pub http: reqwest::Client,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub started_at: Instant,
    /// Circuit breaker and retry budget of the `openai` LLM upstream.
    pub llm_upstream: Arc<crate::llm::upstream_guard::UpstreamGuard>,
    /// Milvus persistence and Sophia deliveries; `None` until the server starts them.
    pub deliveries: Option<Arc<crate::persistence::start::Deliveries>>,
}

impl AppState {
    pub fn new(config: Arc<Config>, registry: Arc<Registry>, http: reqwest::Client) -> Self {
        let metrics = Arc::new(Metrics::new(VERSION));
        let llm_upstream = Arc::new(crate::llm::upstream_guard::UpstreamGuard::new(
            &metrics.delivery,
        ));
        Self {
            config,
            http,
            registry,
            metrics,
            llm_upstream,
            started_at: Instant::now(),
            deliveries: None,
        }
    }

    pub fn with_deliveries(
        mut self,
        deliveries: Arc<crate::persistence::start::Deliveries>,
    ) -> Self {
        self.deliveries = Some(deliveries);
        self
    }
}
