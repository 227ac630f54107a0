//! Fault injection, a TESTING AID that is off by default: `HERMES_FAULT_5XX_RATE` (0..1)
//! answers that fraction of API requests with a 500, `HERMES_FAULT_LATENCY_MS` delays
//! every API request. The canary tests use it to make a revision fail its analysis.
//!
//! Deterministic: the 5xx responses are spread evenly (request n fails when
//! `floor(n * rate)` steps up), so a rate of 0.2 fails exactly every fifth request.
//! Probes and `/metrics` are never touched (the pod stays Ready and observable);
//! `/health` reports the faults while they are on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hermes_interface::probes;
use serde_json::{Value, json};

use crate::error::ApiError;

/// The fault settings; the default injects nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultConfig {
    /// Fraction of API requests answered with a 500.
    pub error_rate: f64,
    /// Added to every API request.
    pub latency: Duration,
}

impl FaultConfig {
    pub fn active(&self) -> bool {
        self.error_rate > 0.0 || !self.latency.is_zero()
    }

    /// The `/health` entry while faults are on (`None` when off).
    pub fn health(&self) -> Option<Value> {
        self.active().then(|| {
            json!({
                "active": true,
                "testing_aid": "injected faults: never set these in production",
                "error_rate": self.error_rate,
                "latency_ms": u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            })
        })
    }
}

/// The middleware's state: the settings and the request counter.
#[derive(Debug)]
pub struct Injector {
    config: FaultConfig,
    seen: AtomicU64,
}

impl Injector {
    pub fn new(config: FaultConfig) -> Arc<Self> {
        Arc::new(Injector {
            config,
            seen: AtomicU64::new(0),
        })
    }

    /// Whether request number `n` (0-based) gets a 500: exactly `rate` of them, evenly.
    pub fn fails(rate: f64, n: u64) -> bool {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let steps = |k: u64| (k as f64 * rate).floor() as u64;
        steps(n + 1) > steps(n)
    }
}

/// Paths the faults never touch.
fn exempt(path: &str) -> bool {
    path == probes::LIVENESS_PATH
        || path == probes::READINESS_PATH
        || path == probes::METRICS_PATH
        || path == probes::HEALTH_PATH
        || path.strip_prefix("/v1") == Some(probes::HEALTH_PATH)
}

pub async fn middleware(
    State(injector): State<Arc<Injector>>,
    request: Request,
    next: Next,
) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let config = injector.config;
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    if config.error_rate > 0.0 {
        let n = injector.seen.fetch_add(1, Ordering::Relaxed);
        if Injector::fails(config.error_rate, n) {
            return ApiError::Internal("injected fault (HERMES_FAULT_5XX_RATE)".into())
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_rate_fails_evenly_spread() {
        let failed: Vec<u64> = (0..20).filter(|n| Injector::fails(0.2, *n)).collect();
        assert_eq!(failed, [4, 9, 14, 19]);
        assert_eq!((0..1000).filter(|n| Injector::fails(0.05, *n)).count(), 50);
        assert!((0..100).all(|n| Injector::fails(1.0, n)));
        assert!((0..100).all(|n| !Injector::fails(0.0, n)));
    }

    #[test]
    fn probes_metrics_and_health_are_exempt() {
        for p in ["/livez", "/readyz", "/metrics", "/health", "/v1/health"] {
            assert!(exempt(p), "{p}");
        }
        for p in ["/", "/embed_text", "/v1/embed_text"] {
            assert!(!exempt(p), "{p}");
        }
    }
}
