//! The canary's gates in a reconcile: one round calls the gates of one type in the spec's
//! order through the Context's `GateCaller` until an answer decides
//! (`rollout::gates::decisive`), within one timeout's worth of time in all
//! (`rollout::gates::MAX_TIMEOUT`), and turns the answers into Events.

use crate::context::Context;
use crate::crd::{Webhook, WebhookType};
use crate::events::Notice;
use crate::rollout::RolloutState;
use crate::rollout::gates::{self, GateAnswer, GateCall};
use crate::validate::Validated;
use std::time::{Duration, Instant};

/// Calls the gates of `type_` among `hooks` about the rollout of `v` in `state`; a round
/// never holds the reconcile longer than one gate may.
pub async fn round(
    ctx: &Context,
    v: &Validated<'_>,
    hooks: &[Webhook],
    state: &RolloutState,
    type_: WebhookType,
) -> Vec<GateCall> {
    round_within(ctx, v, hooks, state, type_, gates::MAX_TIMEOUT).await
}

/// `round` within `budget` in all: each gate waits at most what is left of it.
async fn round_within(
    ctx: &Context,
    v: &Validated<'_>,
    hooks: &[Webhook],
    state: &RolloutState,
    type_: WebhookType,
    budget: Duration,
) -> Vec<GateCall> {
    let mut calls = Vec::new();
    let started = Instant::now();
    for hook in gates::of_type(hooks, type_) {
        let left = budget.saturating_sub(started.elapsed());
        let body = gates::payload(&v.id.namespace, &v.id.name, hook, state);
        let answer = match serde_json::to_value(&body) {
            _ if left.is_zero() => GateAnswer::Unreachable(format!(
                "not asked: the gates before it used the round's {budget:?}"
            )),
            Ok(json) => {
                let timeout = gates::timeout(hook).min(left);
                ctx.gates.call(&hook.url, &json, timeout).await
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::GateCaller;
    use futures::future::BoxFuture;
    use std::sync::{Arc, Mutex};

    /// Answers from a script by URL and records each call's URL and timeout; a `hang`
    /// URL waits out its timeout (tokio's paused clock) and answers TimedOut.
    #[derive(Default)]
    struct Scripted {
        calls: Mutex<Vec<(String, Duration)>>,
    }

    impl GateCaller for Scripted {
        fn call<'a>(
            &'a self,
            url: &'a str,
            _body: &'a serde_json::Value,
            timeout: Duration,
        ) -> BoxFuture<'a, GateAnswer> {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((url.to_string(), timeout));
            }
            Box::pin(async move {
                let status = match url.rsplit('/').next() {
                    Some("ok") => 200,
                    Some("no") => 403,
                    _ => {
                        tokio::time::sleep(timeout).await;
                        return GateAnswer::TimedOut { after: timeout };
                    }
                };
                GateAnswer::Answered {
                    status,
                    body: String::new(),
                }
            })
        }
    }

    fn hook(name: &str, type_: WebhookType, answer: &str, timeout: &str) -> Webhook {
        Webhook {
            name: name.into(),
            type_,
            url: format!("http://gates.test/{answer}"),
            timeout: Some(timeout.into()),
            metadata: Default::default(),
        }
    }

    async fn run_round(
        hooks: &[Webhook],
        type_: WebhookType,
        budget: Duration,
    ) -> (Vec<GateCall>, Vec<(String, Duration)>) {
        let hd: crate::crd::HermesDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": "chat", "namespace": "ns"},
            "spec": {"image": "i:1", "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}]},
        }))
        .expect("resource");
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let client = kube::Client::new(service, "ns");
        let mut registry = prometheus_client::registry::Registry::default();
        let scripted = Arc::new(Scripted::default());
        let ctx = Context::new(
            client.clone(),
            crate::catalog::Catalog::builtin(),
            crate::events::recorder(client, crate::events::reporter(None)),
            crate::metrics::Metrics::new(&mut registry),
        )
        .with_gates(scripted.clone());
        let catalog = crate::catalog::Catalog::builtin();
        let id = crate::validate::identity(&hd).expect("identity");
        let v = crate::validate::validate(id, &hd.spec, &catalog).expect("valid");
        let calls = round_within(&ctx, &v, hooks, &RolloutState::default(), type_, budget).await;
        let made = scripted.calls.lock().map(|c| c.clone()).unwrap_or_default();
        (calls, made)
    }

    #[tokio::test]
    async fn a_round_asks_in_order_until_an_answer_decides_with_each_gates_timeout() {
        use WebhookType::*;
        let hooks = [
            hook("a", PreRollout, "ok", "5s"),
            hook("b", PreRollout, "no", "7s"),
            hook("c", PreRollout, "ok", "5s"),
            hook("x", Rollback, "ok", "5s"),
        ];
        let (calls, made) = run_round(&hooks, PreRollout, gates::MAX_TIMEOUT).await;
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "c is not asked after b refused");
        assert_eq!(
            made,
            [
                ("http://gates.test/ok".to_string(), Duration::from_secs(5)),
                ("http://gates.test/no".to_string(), Duration::from_secs(7)),
            ]
        );
        let notes = notices(&calls, "r2");
        assert_eq!(notes.len(), 1);
        assert_eq!(
            notes[0].note,
            "pre-rollout gate b failed: HTTP 403; canary revision r2 waits without traffic"
        );

        // A rollback round goes on past refusals and stops at the first 2xx.
        let hooks = [
            hook("p", Rollback, "no", "5s"),
            hook("q", Rollback, "ok", "5s"),
            hook("r", Rollback, "ok", "5s"),
        ];
        let (calls, _) = run_round(&hooks, Rollback, gates::MAX_TIMEOUT).await;
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["p", "q"]);
    }

    #[tokio::test]
    async fn hung_gates_share_the_rounds_budget() {
        // The same rule as a minute per round, at a scale a test can wait for.
        let hooks = [
            hook("h1", WebhookType::Rollback, "hang", "200ms"),
            hook("h2", WebhookType::Rollback, "hang", "200ms"),
            hook("h3", WebhookType::Rollback, "hang", "200ms"),
        ];
        let budget = Duration::from_millis(300);
        let (calls, made) = run_round(&hooks, WebhookType::Rollback, budget).await;
        // The first waits its own timeout; the second at most what is left (or, on a
        // slow machine, is not asked either); the third never is.
        assert!((1..=2).contains(&made.len()), "{made:?}");
        assert_eq!(made[0].1, Duration::from_millis(200));
        let given: Duration = made.iter().map(|(_, t)| *t).sum();
        assert!(given <= budget, "{made:?}");
        assert_eq!(calls.len(), 3);
        assert_eq!(
            calls[2].answer,
            GateAnswer::Unreachable("not asked: the gates before it used the round's 300ms".into())
        );
        let notes = notices(&calls, "r2");
        assert_eq!(notes.len(), 3, "each unanswered rollback gate is reported");
        assert_eq!(
            notes[0].note,
            "rollback gate h1 could not be asked (no answer within 200ms); the canary goes on"
        );
    }
}
