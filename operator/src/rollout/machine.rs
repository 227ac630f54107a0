//! The rollout state machine: `next(state, event, policy, now) -> (state, actions)`.
//!
//! Pure and total: every phase accepts every event; an event that means nothing in a phase
//! (a check result while paused, a resume while progressing) leaves the state unchanged and
//! asks for no action. The state is serde-serialisable so it lives in the status and an
//! operator restart resumes exactly where it was.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::policy::{CanaryPolicy, NoDataPolicy};

/// Where a rollout stands.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum RolloutPhase {
    /// One revision serves all traffic; no canary.
    Stable,
    /// The canary carries `weight` percent at step `step` while analyses run.
    Progressing { step: usize, weight: i32 },
    /// Held by the user at `step`/`weight`; analyses are not acted on.
    Paused { step: usize, weight: i32 },
    /// The canary passed (or was promoted by hand); the stable takes its template.
    Promoting,
    /// Analysis failed: canary at weight 0, stable untouched. `reason` names the check.
    RolledBack { reason: String },
    /// Stopped by the user (or the max duration): canary at weight 0.
    Aborted { reason: String },
}

/// The whole persisted rollout state.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    pub phase: RolloutPhase,
    /// Revision serving the stable traffic; `None` before the first deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// Revision under analysis (also kept after a rollback so `Retry` can restart it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<String>,
    /// Failed checks in a row at the current step.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Reason of the last failed check, if the last check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// When the current rollout (canary revision) started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition: Option<DateTime<Utc>>,
    /// The canary waits for its pre-rollout gates: it takes no traffic and is not analysed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_pre_rollout: bool,
}

impl Default for RolloutState {
    fn default() -> Self {
        RolloutState {
            phase: RolloutPhase::Stable,
            stable_revision: None,
            canary_revision: None,
            consecutive_failures: 0,
            last_failure: None,
            started_at: None,
            last_transition: None,
            awaiting_pre_rollout: false,
        }
    }
}

impl RolloutState {
    /// Traffic weight of the canary in percent (0 when there is no live canary, or while
    /// it waits for its pre-rollout gates).
    pub fn canary_weight(&self) -> i32 {
        match self.phase {
            RolloutPhase::Progressing { weight, .. } | RolloutPhase::Paused { weight, .. } => {
                if self.awaiting_pre_rollout {
                    0
                } else {
                    weight
                }
            }
            RolloutPhase::Promoting => 100,
            _ => 0,
        }
    }

    /// Whether the rollout has run longer than the policy's max duration at `now`
    /// (never while paused: the user holds it on purpose).
    pub fn max_duration_exceeded(&self, policy: &CanaryPolicy, now: DateTime<Utc>) -> bool {
        let (Some(max), Some(start)) = (policy.max_duration_seconds, self.started_at) else {
            return false;
        };
        matches!(self.phase, RolloutPhase::Progressing { .. })
            && now.signed_duration_since(start) >= TimeDelta::seconds(max)
    }
}

/// What happened.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum RolloutEvent {
    /// The pod template hashes to this revision.
    NewRevision(String),
    /// Every check of the analysis at the current step passed.
    CheckPassed,
    /// A check failed: `value` against `threshold` (also Prometheus errors, reported by the
    /// caller as failures with that metric name).
    CheckFailed {
        metric: String,
        value: f64,
        threshold: f64,
    },
    /// A check could not be evaluated (Prometheus unreachable or erroring, an invalid
    /// query, a canary that cannot become ready): a failed check with that reason, never
    /// a pass.
    CheckErrored {
        metric: String,
        error: String,
    },
    /// A check found no data; the policy's `noDataPolicy` decides.
    NoData {
        metric: String,
    },
    Pause,
    Resume,
    Abort,
    /// Restart a rolled-back or aborted rollout from step 0.
    Retry,
    /// Skip the remaining analysis and promote.
    PromoteNow,
    MaxDurationExceeded,
    /// The caller applied a `Promote`: the stable runs the canary's template.
    PromotionComplete,
    /// Every pre-rollout gate answered 2xx: the canary takes its step's traffic.
    PreRolloutPassed,
    /// A pre-rollout gate refused or did not answer: a failed check.
    GateFailed {
        gate: String,
        error: String,
    },
    /// The analysis passed the last step but a confirm-promotion gate has not said yes:
    /// the canary stays at its last step (failures cleared: the analysis passed).
    PromotionHeld,
    /// A rollback gate answered 2xx.
    RollbackRequested {
        gate: String,
        answer: String,
    },
}

/// What the caller must do to the cluster.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// The first revision: deploy it directly as the stable.
    DeployStable { revision: String },
    /// Create (or replace) the canary workload with this revision at this weight.
    DeployCanary { revision: String, weight: i32 },
    /// Move the canary to this weight.
    SetWeight { weight: i32 },
    /// Give the stable the canary's template, then remove the canary.
    Promote { revision: String },
    /// Canary to weight 0 and scaled down; stable untouched. `reason` names the check.
    RollBack { reason: String },
    /// Remove the canary workload (the spec went back to the stable revision).
    RemoveCanary,
    /// Emit a Kubernetes Event.
    Event {
        reason: String,
        message: String,
        warning: bool,
    },
}

fn event(reason: &str, message: String, warning: bool) -> Action {
    Action::Event {
        reason: reason.to_string(),
        message,
        warning,
    }
}

/// The transition function. `now` stamps start and transition times.
pub fn next(
    state: &RolloutState,
    ev: RolloutEvent,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
) -> (RolloutState, Vec<Action>) {
    use RolloutEvent as E;
    use RolloutPhase as P;
    let unchanged = || (state.clone(), Vec::new());
    match (&state.phase, ev) {
        (_, E::NewRevision(rev)) => new_revision(state, rev, policy, now),

        // Waiting for the pre-rollout gates: no traffic, so no analysis result counts.
        (
            P::Progressing { .. },
            E::CheckPassed | E::CheckFailed { .. } | E::CheckErrored { .. } | E::NoData { .. },
        ) if state.awaiting_pre_rollout => unchanged(),
        (P::Progressing { step, weight }, E::PreRolloutPassed) if state.awaiting_pre_rollout => {
            let s = transition(
                state,
                P::Progressing {
                    step: *step,
                    weight: *weight,
                },
                now,
            );
            let msg = format!("pre-rollout gates passed; canary to {weight}%");
            (
                s,
                vec![
                    Action::SetWeight { weight: *weight },
                    event("PreRolloutPassed", msg, false),
                ],
            )
        }
        (P::Progressing { .. }, E::GateFailed { gate, error }) if state.awaiting_pre_rollout => {
            check_failed(
                state,
                format!("pre-rollout gate {gate} failed: {error}"),
                policy,
                now,
            )
        }
        (P::Progressing { .. }, E::PromotionHeld) => {
            let mut s = state.clone();
            s.consecutive_failures = 0;
            s.last_failure = None;
            (s, Vec::new())
        }
        (P::Progressing { .. } | P::Paused { .. }, E::RollbackRequested { gate, answer }) => stop(
            state,
            P::RolledBack {
                reason: format!("rollback gate {gate} asked for a rollback ({answer})"),
            },
            now,
        ),

        (P::Progressing { step, .. }, E::CheckPassed) => step_passed(state, *step, policy, now),
        (
            P::Progressing { .. },
            E::CheckFailed {
                metric,
                value,
                threshold,
            },
        ) => {
            let reason =
                format!("check {metric} failed: value {value} against threshold {threshold}");
            check_failed(state, reason, policy, now)
        }
        (P::Progressing { .. }, E::CheckErrored { metric, error }) => check_failed(
            state,
            format!("check {metric} failed: {error}"),
            policy,
            now,
        ),
        (P::Progressing { step, .. }, E::NoData { metric }) => match policy.no_data_policy {
            NoDataPolicy::Fail => check_failed(
                state,
                format!("check {metric} failed: no data"),
                policy,
                now,
            ),
            NoDataPolicy::Skip => step_passed(state, *step, policy, now),
            NoDataPolicy::Wait => unchanged(),
        },
        (P::Progressing { step, weight }, E::Pause) => {
            let s = hold(
                state,
                P::Paused {
                    step: *step,
                    weight: *weight,
                },
                now,
            );
            let msg = format!("rollout paused at {weight}%");
            (s, vec![event("RolloutPaused", msg, false)])
        }
        (P::Paused { step, weight }, E::Resume) => {
            let s = hold(
                state,
                P::Progressing {
                    step: *step,
                    weight: *weight,
                },
                now,
            );
            let msg = format!("rollout resumed at {weight}%");
            (s, vec![event("RolloutResumed", msg, false)])
        }
        (P::Progressing { .. } | P::Paused { .. }, E::Abort) => stop(
            state,
            P::Aborted {
                reason: "aborted by user".into(),
            },
            now,
        ),
        (P::Progressing { .. }, E::MaxDurationExceeded) => {
            let reason = match policy.max_duration_seconds {
                Some(max) => format!("rollout exceeded its max duration of {max}s"),
                None => "rollout exceeded its max duration".to_string(),
            };
            stop(state, P::RolledBack { reason }, now)
        }
        (P::Progressing { .. } | P::Paused { .. }, E::PromoteNow) => {
            promote(state, "promoted by user", now)
        }
        (P::Promoting, E::PromotionComplete) => {
            let mut s = transition(state, P::Stable, now);
            s.stable_revision = state.canary_revision.clone().or(s.stable_revision);
            s.canary_revision = None;
            s.started_at = None;
            (s, Vec::new())
        }
        (P::RolledBack { .. } | P::Aborted { .. }, E::Retry) => match &state.canary_revision {
            Some(rev) => start_canary(state, rev.clone(), policy, now, "RolloutRetried"),
            None => unchanged(),
        },
        _ => unchanged(),
    }
}

/// A copy of `state` in `phase`, with the transition time and a clean failure count.
/// Pause and resume: a phase change that keeps the failure count and the last failure.
fn hold(state: &RolloutState, phase: RolloutPhase, now: DateTime<Utc>) -> RolloutState {
    let mut s = transition(state, phase, now);
    s.consecutive_failures = state.consecutive_failures;
    s.last_failure = state.last_failure.clone();
    s.awaiting_pre_rollout = state.awaiting_pre_rollout;
    s
}

fn transition(state: &RolloutState, phase: RolloutPhase, now: DateTime<Utc>) -> RolloutState {
    RolloutState {
        phase,
        consecutive_failures: 0,
        last_failure: None,
        last_transition: Some(now),
        awaiting_pre_rollout: false,
        ..state.clone()
    }
}

fn new_revision(
    state: &RolloutState,
    rev: String,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
) -> (RolloutState, Vec<Action>) {
    let Some(stable) = &state.stable_revision else {
        // The very first deployment goes straight to stable.
        let mut s = transition(state, RolloutPhase::Stable, now);
        s.stable_revision = Some(rev.clone());
        return (s, vec![Action::DeployStable { revision: rev }]);
    };
    if matches!(state.phase, RolloutPhase::Promoting) {
        // The promotion already gave the stable the canary's template; analyse `rev`
        // against that new stable.
        if state.canary_revision.as_deref() == Some(rev.as_str()) {
            return (state.clone(), Vec::new());
        }
        let mut base = state.clone();
        base.stable_revision = state.canary_revision.clone();
        return start_canary(&base, rev, policy, now, "RolloutStarted");
    }
    if &rev == stable {
        if state.canary_revision.is_none() {
            return (state.clone(), Vec::new());
        }
        // The spec went back to the stable revision: drop the canary.
        let mut s = transition(state, RolloutPhase::Stable, now);
        s.canary_revision = None;
        s.started_at = None;
        let msg = format!("spec reverted to stable revision {rev}; canary removed");
        return (
            s,
            vec![Action::RemoveCanary, event("RolloutReverted", msg, false)],
        );
    }
    if state.canary_revision.as_deref() == Some(rev.as_str()) {
        // Same revision seen again (every reconcile reports it): nothing new.
        return (state.clone(), Vec::new());
    }
    let (mut s, actions) = start_canary(state, rev, policy, now, "RolloutStarted");
    if let RolloutPhase::Paused { .. } = state.phase {
        // A paused rollout stays paused on the newest revision.
        s.phase = RolloutPhase::Paused {
            step: 0,
            weight: policy.weight(0),
        };
    }
    (s, actions)
}

fn start_canary(
    state: &RolloutState,
    rev: String,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
    reason: &str,
) -> (RolloutState, Vec<Action>) {
    let weight = policy.weight(0);
    let mut s = transition(state, RolloutPhase::Progressing { step: 0, weight }, now);
    s.canary_revision = Some(rev.clone());
    s.started_at = Some(now);
    s.awaiting_pre_rollout = policy.pre_rollout_gates;
    let msg = if s.awaiting_pre_rollout {
        format!("canary revision {rev} waits for its pre-rollout gates before taking {weight}%")
    } else {
        format!("canary revision {rev} at {weight}%")
    };
    let actions = vec![
        Action::DeployCanary {
            revision: rev,
            weight,
        },
        event(reason, msg, false),
    ];
    (s, actions)
}

fn step_passed(
    state: &RolloutState,
    step: usize,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
) -> (RolloutState, Vec<Action>) {
    let next_step = step + 1;
    if next_step >= policy.steps().len() {
        return promote(state, "every analysis step passed", now);
    }
    let weight = policy.weight(next_step);
    let s = transition(
        state,
        RolloutPhase::Progressing {
            step: next_step,
            weight,
        },
        now,
    );
    let msg = format!("step {step} passed; canary to {weight}%");
    (
        s,
        vec![
            Action::SetWeight { weight },
            event("RolloutStepPassed", msg, false),
        ],
    )
}

fn check_failed(
    state: &RolloutState,
    reason: String,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
) -> (RolloutState, Vec<Action>) {
    let failures = state.consecutive_failures + 1;
    if failures >= policy.failure_limit() {
        let reason = format!("{reason} ({failures} consecutive failures)");
        return stop(state, RolloutPhase::RolledBack { reason }, now);
    }
    let mut s = state.clone();
    s.consecutive_failures = failures;
    s.last_failure = Some(reason);
    (s, Vec::new())
}

fn promote(state: &RolloutState, why: &str, now: DateTime<Utc>) -> (RolloutState, Vec<Action>) {
    let Some(rev) = state.canary_revision.clone() else {
        return (state.clone(), Vec::new());
    };
    let s = transition(state, RolloutPhase::Promoting, now);
    let msg = format!("promoting revision {rev}: {why}");
    (
        s,
        vec![
            Action::Promote { revision: rev },
            event("RolloutPromoted", msg, false),
        ],
    )
}

/// Roll back or abort: canary to weight 0, the failure reason kept in the phase.
fn stop(
    state: &RolloutState,
    phase: RolloutPhase,
    now: DateTime<Utc>,
) -> (RolloutState, Vec<Action>) {
    let (reason, event_reason) = match &phase {
        RolloutPhase::RolledBack { reason } => (reason.clone(), "RolledBack"),
        RolloutPhase::Aborted { reason } => (reason.clone(), "RolloutAborted"),
        _ => (String::new(), "RolledBack"),
    };
    let s = transition(state, phase, now);
    let actions = vec![
        Action::RollBack {
            reason: reason.clone(),
        },
        event(event_reason, reason, true),
    ];
    (s, actions)
}
