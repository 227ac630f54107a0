//! Protection of the `openai` upstream, shared by every request of this server: a
//! circuit breaker (an upstream that keeps failing is answered for with a fast 503
//! instead of every request waiting on it) and a retry budget (retries add at most
//! [`RETRY_RATIO`] calls per request, plus [`RETRY_FLOOR`] to start with, so an
//! upstream in trouble is not hit by a retry storm of `HERMES_LLM_MAX_RETRIES` x
//! the traffic).

use crate::resilience::breaker::{BreakerConfig, CircuitState, Rejected, SharedBreaker};
use crate::resilience::budget::RetryBudget;
use crate::resilience::metrics::DeliveryMetrics;

/// The `dependency` label of the upstream's series (circuit state, retries).
pub const DEPENDENCY: &str = "llm_upstream";
/// Retries allowed per first attempt.
pub const RETRY_RATIO: f64 = 0.2;
/// Retries available before any traffic has earned them.
pub const RETRY_FLOOR: f64 = 3.0;

pub struct UpstreamGuard {
    breaker: SharedBreaker,
    budget: RetryBudget,
    metrics: DeliveryMetrics,
}

impl std::fmt::Debug for UpstreamGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamGuard")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl UpstreamGuard {
    pub fn new(metrics: &DeliveryMetrics) -> Self {
        let gauge = metrics.clone();
        Self {
            breaker: SharedBreaker::new(DEPENDENCY, BreakerConfig::default(), move |s| {
                gauge.circuit(DEPENDENCY, s)
            }),
            budget: RetryBudget::new(RETRY_RATIO, RETRY_FLOOR),
            metrics: metrics.clone(),
        }
    }

    /// A request's first attempt: earns retry budget.
    pub fn first_attempt(&self) {
        self.budget.deposit();
    }

    /// Admits one call, or fails fast while the circuit is open.
    pub fn admit(&self) -> Result<(), Rejected> {
        self.breaker.try_acquire().inspect_err(|_| {
            self.metrics.failure(DEPENDENCY, "circuit_open");
        })
    }

    /// Whether a failed call may be retried now (spends budget when it may).
    pub fn may_retry(&self) -> bool {
        let granted = self.budget.try_withdraw();
        self.metrics
            .retry(DEPENDENCY, if granted { "granted" } else { "denied" });
        granted
    }

    /// The upstream answered (a 4xx is the request's fault, not the upstream's).
    pub fn answered(&self) {
        self.breaker.on_success();
    }

    /// The upstream failed: a 5xx, no connection or no answer in time.
    pub fn failed(&self, reason: &'static str) {
        self.metrics.failure(DEPENDENCY, reason);
        self.breaker.on_failure();
    }

    pub fn circuit(&self) -> CircuitState {
        self.breaker.state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_failures_open_the_circuit_and_successes_keep_it_closed() {
        let guard = UpstreamGuard::new(&DeliveryMetrics::default());
        // One failure in three: under the failure-rate threshold, never consecutive.
        for _ in 0..10 {
            guard.admit().unwrap();
            guard.failed("status_503");
            for _ in 0..2 {
                guard.admit().unwrap();
                guard.answered();
            }
        }
        assert_eq!(guard.circuit(), CircuitState::Closed);
        let threshold = BreakerConfig::default().consecutive_failures;
        for _ in 0..threshold {
            guard.admit().unwrap();
            guard.failed("unreachable");
        }
        assert_eq!(guard.circuit(), CircuitState::Open);
        assert!(guard.admit().is_err(), "open: calls fail fast");
    }

    #[test]
    fn retries_are_limited_to_the_floor_plus_the_ratio_of_requests() {
        let guard = UpstreamGuard::new(&DeliveryMetrics::default());
        let requests = 50;
        let mut granted = 0;
        for _ in 0..requests {
            guard.first_attempt();
            // Every request would like three retries.
            granted += (0..3).filter(|_| guard.may_retry()).count();
        }
        let allowed = RETRY_FLOOR + RETRY_RATIO * requests as f64;
        assert!(granted as f64 <= allowed, "{granted} > {allowed}");
        assert!(granted as f64 >= allowed - 1.0, "{granted} retries only");
    }
}
