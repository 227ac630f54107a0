//! The gates of a canary rollout (HTTP webhooks as Flagger offers them) as pure decisions:
//! what the JSON body says, when a gate is due, which event the answers feed the state
//! machine, what the status records and what the rollout waits for. The calls themselves
//! are `crate::gates` (behind a trait) and `canary::gates` (the glue).
//!
//! As in Flagger: `pre-rollout` — every gate must answer 2xx before the canary takes
//! traffic; a refusal or a timeout is a failed check (`failureLimit` in a row roll back,
//! `maxDuration` bounds the whole wait); `confirm-promotion` — a canary that passed its
//! last step waits there (analyses go on) until every gate answers 2xx; `rollback` — a 2xx
//! answer rolls the canary back. Gates of one type are called in order and the first
//! answer that decides stops the round.

use super::machine::{RolloutEvent, RolloutPhase, RolloutState, next};
use super::policy::CanaryPolicy;
use crate::crd::{GateStatus, Webhook, WebhookType};
use crate::quantity::parse_duration;
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A gate's timeout when it sets none (Flagger's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest timeout a gate may set: a reconcile waits for the answer.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of an answer's body the status and Events keep.
pub const BODY_CHARS: usize = 200;

/// What a gate answered.
#[derive(Debug, Clone, PartialEq)]
pub enum GateAnswer {
    /// An HTTP answer: its status and the start of its body.
    Answered { status: u16, body: String },
    /// No answer within the gate's timeout.
    TimedOut { after: Duration },
    /// No HTTP answer at all (connection refused, name not resolved, TLS ...).
    Unreachable(String),
}

impl GateAnswer {
    /// A 2xx answer.
    pub fn passed(&self) -> bool {
        matches!(self, GateAnswer::Answered { status, .. } if (200..300).contains(status))
    }

    /// `Passed`, `Refused`, `TimedOut` or `Unreachable` (the status's `result`).
    pub fn result(&self) -> &'static str {
        match self {
            a if a.passed() => "Passed",
            GateAnswer::Answered { .. } => "Refused",
            GateAnswer::TimedOut { .. } => "TimedOut",
            GateAnswer::Unreachable(_) => "Unreachable",
        }
    }

    /// `HTTP 503: not yet`, `no answer within 10s`, `unreachable: ...`.
    pub fn describe(&self) -> String {
        match self {
            GateAnswer::Answered { status, body } => {
                let body: String = body.trim().chars().take(BODY_CHARS).collect();
                if body.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {body}")
                }
            }
            GateAnswer::TimedOut { after } => {
                format!("no answer within {after:?}")
            }
            GateAnswer::Unreachable(why) => format!("unreachable: {why}"),
        }
    }
}

/// One call of one gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateCall {
    pub name: String,
    pub type_: WebhookType,
    pub answer: GateAnswer,
}

/// The JSON body POSTed to a gate: Flagger's `name`, `namespace`, `phase` and `metadata`,
/// plus the rollout's step, weight and revisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload<'a> {
    /// The HermesDeployment.
    pub name: &'a str,
    pub namespace: &'a str,
    /// The gate's type and name.
    #[serde(rename = "type")]
    pub type_: WebhookType,
    pub gate: &'a str,
    /// `Progressing` or `Paused`.
    pub phase: &'static str,
    pub step: Option<usize>,
    /// The canary's traffic weight in percent (0 while it waits for pre-rollout gates).
    pub weight: i32,
    pub stable_revision: Option<&'a str>,
    pub canary_revision: Option<&'a str>,
    pub metadata: &'a BTreeMap<String, String>,
}

/// The body for `hook` about the rollout of `name` in `namespace` in `state`.
pub fn payload<'a>(
    namespace: &'a str,
    name: &'a str,
    hook: &'a Webhook,
    state: &'a RolloutState,
) -> Payload<'a> {
    let (phase, step) = match &state.phase {
        RolloutPhase::Progressing { step, .. } => ("Progressing", Some(*step)),
        RolloutPhase::Paused { step, .. } => ("Paused", Some(*step)),
        RolloutPhase::Stable => ("Stable", None),
        RolloutPhase::Promoting => ("Promoting", None),
        RolloutPhase::RolledBack { .. } => ("RolledBack", None),
        RolloutPhase::Aborted { .. } => ("Aborted", None),
    };
    Payload {
        name,
        namespace,
        type_: hook.type_,
        gate: &hook.name,
        phase,
        step,
        weight: state.canary_weight(),
        stable_revision: state.stable_revision.as_deref(),
        canary_revision: state.canary_revision.as_deref(),
        metadata: &hook.metadata,
    }
}

/// The timeout of `hook`: its own (validation bounds it), else the default.
pub fn timeout(hook: &Webhook) -> Duration {
    hook.timeout
        .as_deref()
        .and_then(|t| parse_duration(t).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(MAX_TIMEOUT)
}

/// The gates of `type_`, in the spec's order.
pub fn of_type(hooks: &[Webhook], type_: WebhookType) -> Vec<&Webhook> {
    hooks.iter().filter(|h| h.type_ == type_).collect()
}

/// Whether a round stops after `answer`: the first refusal decides a pre-rollout or a
/// confirm-promotion round, the first 2xx a rollback round.
pub fn decisive(type_: WebhookType, answer: &GateAnswer) -> bool {
    match type_ {
        WebhookType::PreRollout | WebhookType::ConfirmPromotion => !answer.passed(),
        WebhookType::Rollback => answer.passed(),
    }
}

/// When the gates of `type_` are next due for the canary `revision`: `None` now (never
/// called for it), else how long from `now` (one `interval` after the latest call).
pub fn due(
    records: &[GateStatus],
    type_: WebhookType,
    revision: &str,
    interval: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let last = records
        .iter()
        .filter(|r| r.type_ == type_ && r.revision == revision)
        .filter_map(|r| super::persist::from_time(&r.time))
        .max()?;
    let delta = chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::seconds(60));
    let due_at = last + delta;
    (now < due_at).then(|| {
        (due_at - now)
            .to_std()
            .unwrap_or(interval)
            .max(Duration::from_secs(1))
    })
}

/// The event of a pre-rollout round: passed when every gate answered 2xx, else the first
/// refusal as a failed check.
pub fn pre_rollout_event(calls: &[GateCall]) -> RolloutEvent {
    match calls.iter().find(|c| !c.answer.passed()) {
        Some(c) => RolloutEvent::GateFailed {
            gate: c.name.clone(),
            error: c.answer.describe(),
        },
        None => RolloutEvent::PreRolloutPassed,
    }
}

/// The confirm-promotion gate that holds the promotion, if any.
pub fn promotion_refused(calls: &[GateCall]) -> Option<&GateCall> {
    calls.iter().find(|c| !c.answer.passed())
}

/// The rollback event of a rollback round: a gate that answered 2xx.
pub fn rollback_event(calls: &[GateCall]) -> Option<RolloutEvent> {
    calls
        .iter()
        .find(|c| c.answer.passed())
        .map(|c| RolloutEvent::RollbackRequested {
            gate: c.name.clone(),
            answer: c.answer.describe(),
        })
}

/// Whether feeding `event` to the machine in `state` would promote the canary (the
/// moment the confirm-promotion gates are asked).
pub fn promotes(
    state: &RolloutState,
    event: &RolloutEvent,
    policy: &CanaryPolicy,
    now: DateTime<Utc>,
) -> bool {
    !matches!(state.phase, RolloutPhase::Promoting)
        && matches!(
            next(state, event.clone(), policy, now).0.phase,
            RolloutPhase::Promoting
        )
}

/// The status records after `calls` for the canary `revision`: each called gate's record
/// replaced; records of gates no longer declared, or of another revision, dropped.
pub fn record(
    previous: &[GateStatus],
    hooks: &[Webhook],
    revision: &str,
    calls: &[GateCall],
    time: &Time,
) -> Vec<GateStatus> {
    hooks
        .iter()
        .filter_map(|h| {
            if let Some(c) = calls.iter().rev().find(|c| c.name == h.name) {
                return Some(GateStatus {
                    name: c.name.clone(),
                    type_: c.type_,
                    revision: revision.to_string(),
                    result: c.answer.result().into(),
                    message: Some(c.answer.describe()),
                    time: time.clone(),
                });
            }
            previous
                .iter()
                .find(|r| r.name == h.name && r.type_ == h.type_ && r.revision == revision)
                .cloned()
        })
        .collect()
}

/// What the rollout in `state` waits for, by the gates' last calls: its pre-rollout gates,
/// or (at its last step) a confirm-promotion gate that has not said yes.
pub fn waiting_for(
    state: &RolloutState,
    records: &[GateStatus],
    policy: &CanaryPolicy,
) -> Option<String> {
    let RolloutPhase::Progressing { step, .. } = state.phase else {
        return None;
    };
    let revision = state.canary_revision.as_deref()?;
    let refusing = |type_: WebhookType| {
        records
            .iter()
            .find(|r| r.type_ == type_ && r.revision == revision && r.result != "Passed")
    };
    if state.awaiting_pre_rollout {
        return Some(match refusing(WebhookType::PreRollout) {
            Some(r) => format!(
                "waiting for pre-rollout gate {} ({}), no traffic yet",
                r.name,
                r.message.as_deref().unwrap_or(&r.result)
            ),
            None => "waiting for the pre-rollout gates, no traffic yet".into(),
        });
    }
    if step + 1 >= policy.steps().len() {
        return refusing(WebhookType::ConfirmPromotion).map(|r| {
            format!(
                "waiting for confirm-promotion gate {} ({})",
                r.name,
                r.message.as_deref().unwrap_or(&r.result)
            )
        });
    }
    None
}
