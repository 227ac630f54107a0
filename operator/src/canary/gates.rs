//! The canary's gates in a reconcile: one round calls the gates of one type in the spec's
//! order through the Context's `GateCaller` until an answer decides
//! (`rollout::gates::decisive`), and turns the answers into Events.

use crate::context::Context;
use crate::crd::{Webhook, WebhookType};
use crate::events::Notice;
use crate::rollout::RolloutState;
use crate::rollout::gates::{self, GateAnswer, GateCall};
use crate::validate::Validated;

/// Calls the gates of `type_` among `hooks` about the rollout of `v` in `state`.
pub async fn round(
    ctx: &Context,
    v: &Validated<'_>,
    hooks: &[Webhook],
    state: &RolloutState,
    type_: WebhookType,
) -> Vec<GateCall> {
    let mut calls = Vec::new();
    for hook in gates::of_type(hooks, type_) {
        let body = gates::payload(&v.id.namespace, &v.id.name, hook, state);
        let answer = match serde_json::to_value(&body) {
            Ok(json) => ctx.gates.call(&hook.url, &json, gates::timeout(hook)).await,
            Err(e) => GateAnswer::Unreachable(format!("could not encode the body: {e}")),
        };
        tracing::info!(gate = %hook.name, r#type = type_.as_str(), answer = %answer.describe(), "called a rollout gate");
        let stop = gates::decisive(type_, &answer);
        calls.push(GateCall {
            name: hook.name.clone(),
            type_,
            answer,
        });
        if stop {
            break;
        }
    }
    calls
}

fn notice(warning: bool, reason: &str, gate: &str, note: String) -> Notice {
    Notice {
        warning,
        reason: reason.into(),
        // One series per gate: the Recorder folds equal reason and action.
        action: format!("Gate {gate}"),
        note,
    }
}

/// The Events of a round: a pre-rollout refusal, a promotion that waits (or was
/// confirmed), a rollback gate that could not be asked. A rollback a gate asked for is
/// the state machine's `RolledBack` Event.
pub fn notices(calls: &[GateCall], revision: &str) -> Vec<Notice> {
    let mut out = Vec::new();
    for c in calls {
        let answer = c.answer.describe();
        match (c.type_, c.answer.passed()) {
            (WebhookType::PreRollout, false) => out.push(notice(
                true,
                "PreRolloutGateFailed",
                &c.name,
                format!(
                    "pre-rollout gate {} failed: {answer}; canary revision {revision} waits without traffic",
                    c.name
                ),
            )),
            (WebhookType::ConfirmPromotion, false) => out.push(notice(
                true,
                "PromotionWaiting",
                &c.name,
                format!(
                    "promotion of revision {revision} waits for confirm-promotion gate {}: {answer}",
                    c.name
                ),
            )),
            (WebhookType::ConfirmPromotion, true) => out.push(notice(
                false,
                "PromotionConfirmed",
                &c.name,
                format!(
                    "confirm-promotion gate {} passed for revision {revision}",
                    c.name
                ),
            )),
            (WebhookType::Rollback, false)
                if !matches!(c.answer, GateAnswer::Answered { .. }) =>
            {
                out.push(notice(
                    true,
                    "RollbackGateUnanswered",
                    &c.name,
                    format!(
                        "rollback gate {} could not be asked ({answer}); the canary goes on",
                        c.name
                    ),
                ))
            }
            _ => {}
        }
    }
    out
}
