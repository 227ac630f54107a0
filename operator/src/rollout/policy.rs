//! The knobs of a canary rollout, with the documented defaults.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::crd::CanarySpec;
pub use crate::crd::NoDataPolicy;
use crate::quantity::parse_duration;

/// Default traffic weights in percent.
pub const DEFAULT_STEPS: [i32; 4] = [10, 25, 50, 100];
/// Default number of consecutive failed checks before a rollback.
pub const DEFAULT_FAILURE_LIMIT: u32 = 2;
/// Default time between analyses.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The canary policy the state machine follows.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CanaryPolicy {
    /// Weights in percent, increasing; never empty (see `steps()`).
    pub steps: Vec<i32>,
    /// Consecutive failed checks that trigger a rollback (at least 1).
    pub failure_limit: u32,
    pub no_data_policy: NoDataPolicy,
    /// Longest a rollout may run before it is rolled back, in seconds.
    pub max_duration_seconds: Option<i64>,
    /// The canary has `pre-rollout` gates: it starts without traffic until they pass.
    #[serde(default)]
    pub pre_rollout_gates: bool,
}

impl Default for CanaryPolicy {
    fn default() -> Self {
        CanaryPolicy {
            steps: DEFAULT_STEPS.to_vec(),
            failure_limit: DEFAULT_FAILURE_LIMIT,
            no_data_policy: NoDataPolicy::default(),
            max_duration_seconds: None,
            pre_rollout_gates: false,
        }
    }
}

impl CanaryPolicy {
    /// The policy of a resource's `rollout.canary` (defaults where unset).
    /// Durations that do not parse (validation refuses them first) fall back to the default.
    pub fn from_spec(spec: Option<&CanarySpec>) -> Self {
        let mut policy = CanaryPolicy::default();
        let Some(spec) = spec else {
            return policy;
        };
        if !spec.steps.is_empty() {
            policy.steps = spec.steps.clone();
        }
        if let Some(limit) = spec.failure_limit {
            policy.failure_limit = limit;
        }
        if let Some(no_data) = spec.no_data_policy {
            policy.no_data_policy = no_data;
        }
        policy.max_duration_seconds = spec
            .max_duration
            .as_deref()
            .and_then(|d| parse_duration(d).ok())
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        policy.pre_rollout_gates = spec
            .webhooks
            .iter()
            .any(|w| w.type_ == crate::crd::WebhookType::PreRollout);
        policy
    }

    /// Time between analyses of `spec` (default 1m; never below one second).
    pub fn interval(spec: Option<&CanarySpec>) -> Duration {
        spec.and_then(|s| s.interval.as_deref())
            .and_then(|d| parse_duration(d).ok())
            .unwrap_or(DEFAULT_INTERVAL)
            .max(Duration::from_secs(1))
    }

    /// The steps, falling back to the defaults when empty so a step index always resolves.
    pub fn steps(&self) -> &[i32] {
        if self.steps.is_empty() {
            &DEFAULT_STEPS
        } else {
            &self.steps
        }
    }

    /// The weight of step `index`, or 0 past the end.
    pub fn weight(&self, index: usize) -> i32 {
        self.steps().get(index).copied().unwrap_or(0)
    }

    /// Failure limit, never below 1 (a limit of 0 would roll back before any check).
    pub fn failure_limit(&self) -> u32 {
        self.failure_limit.max(1)
    }
}
