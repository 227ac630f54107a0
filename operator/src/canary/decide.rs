//! The canary's decisions: feeds the state machine what happened (the spec's revision, a
//! manual command, an analysis when one is due) and returns its new state and actions.
//! Its only reads come before any write: the canary Deployment (is it ready to be
//! analysed?) and Prometheus.

use super::analyse::{analyse, dry_run_notices, failure_note};
use super::gates::{notices as gate_notices, round};
use crate::apply;
use crate::build::canary as build_canary;
use crate::context::{Context, PROGRESS_CHECK, RESYNC, ReconcileError};
use crate::crd::{AnalysisStatus, CommandStatus, GateStatus, HermesDeploymentStatus, WebhookType};
use crate::events::Notice;
use crate::rollout::gates::{self, GateCall};
use crate::rollout::persist::{from_status, from_time, to_time};
use crate::rollout::{
    Action, CanaryPolicy, RolloutEvent, RolloutPhase, RolloutState, command, next,
};
use crate::validate::{Canary, Validated};
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use std::time::Duration;

/// What the canary half decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The state before this reconcile (as persisted).
    pub previous: RolloutState,
    /// The state after it: what the cluster must now look like.
    pub state: RolloutState,
    /// The state machine's actions, in order, for the executor.
    pub actions: Vec<Action>,
    /// Events of the decisions themselves (a failed analysis, an unknown command); they
    /// are published before those of the writes.
    pub notices: Vec<Notice>,
    pub last_analysis: Option<AnalysisStatus>,
    /// The latest manual command and its outcome (this reconcile's, else the status's).
    pub last_command: Option<CommandStatus>,
    /// The last call of each gate for the canary revision.
    pub gates: Vec<GateStatus>,
    pub requeue: Duration,
    /// A manual command annotation was read (and must be removed).
    pub command_seen: bool,
}

/// Now, at whole seconds (as the status stores times).
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp(n.timestamp(), 0).unwrap_or(n)
}

/// Whether `d` runs `replicas` ready pods of its latest spec.
pub fn deployment_ready(d: &Deployment, replicas: i32) -> bool {
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation >= d.metadata.generation
        && d.metadata.generation.is_some()
        && s.updated_replicas.unwrap_or(0) >= replicas
        && s.ready_replicas.unwrap_or(0) >= replicas
}

/// The message of a Deployment that stopped progressing (deadline exceeded).
fn stalled(d: &Deployment) -> Option<String> {
    d.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing") && c.status.as_deref() == Some("False"))
        .map(|c| {
            c.message
                .clone()
                .unwrap_or_else(|| "the canary Deployment stopped progressing".into())
        })
}

/// The persisted state, or for a resource from before canaries (or the first
/// reconcile) the stable revision the status knows.
pub fn previous_state(status: Option<&HermesDeploymentStatus>) -> RolloutState {
    match status.and_then(|s| s.rollout.as_ref()) {
        Some(r) => from_status(r),
        None => RolloutState {
            stable_revision: status.and_then(|s| s.stable_revision.clone()),
            ..RolloutState::default()
        },
    }
}

/// When the next analysis of the canary in `state` is due: `None` now, else how long
/// from `now`. An analysis is due one interval after the later of the last transition
/// and the last analysis of this canary revision.
pub fn analysis_due(
    state: &RolloutState,
    last_analysis: Option<&AnalysisStatus>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let last_run = last_analysis
        .filter(|a| state.canary_revision.as_deref() == Some(a.revision.as_str()))
        .and_then(|a| from_time(&a.time));
    let since = [state.last_transition, last_run]
        .into_iter()
        .flatten()
        .max();
    let delta = chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::seconds(60));
    let due_at = since.map_or(now, |t| t + delta);
    (now < due_at).then(|| {
        (due_at - now)
            .to_std()
            .unwrap_or(interval)
            .max(Duration::from_secs(1))
    })
}

/// Whether `d` has `replicas` ready pods, of whichever revision: the traffic it serves is
/// healthy even while a rolling update is under way (maxUnavailable 0 keeps old pods).
pub fn serving_all_replicas(d: &Deployment, replicas: i32) -> bool {
    d.status
        .as_ref()
        .is_some_and(|s| s.ready_replicas.unwrap_or(0) >= replicas)
}

struct Machine<'a> {
    state: RolloutState,
    policy: &'a CanaryPolicy,
    now: DateTime<Utc>,
    actions: Vec<Action>,
}

impl Machine<'_> {
    fn feed(&mut self, event: RolloutEvent) {
        let (state, actions) = next(&self.state, event, self.policy, self.now);
        self.state = state;
        self.actions.extend(actions);
    }

    fn progressing(&self) -> bool {
        matches!(self.state.phase, RolloutPhase::Progressing { .. })
    }

    fn live(&self) -> bool {
        matches!(
            self.state.phase,
            RolloutPhase::Progressing { .. } | RolloutPhase::Paused { .. }
        )
    }
}

/// What the rollout of `v` (its canary knobs `canary`, the spec's `revision`) does now,
/// given its `status`, a manual `command` and the stable Deployment as it runs.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    ctx: &Context,
    v: &Validated<'_>,
    canary: &Canary,
    revision: &str,
    status: Option<&HermesDeploymentStatus>,
    command: Option<&str>,
    stable_now: Option<&Deployment>,
    now: DateTime<Utc>,
) -> Result<Decision, ReconcileError> {
    let previous = previous_state(status);
    let mut last_analysis = status
        .and_then(|s| s.rollout.as_ref())
        .and_then(|r| r.last_analysis.clone());
    let mut notices = Vec::new();
    let mut m = Machine {
        state: previous.clone(),
        policy: &canary.policy,
        now,
        actions: Vec::new(),
    };

    // 1. The spec's revision.
    let serving = stable_now.is_some_and(|d| serving_all_replicas(d, v.replicas));
    let direct = matches!(m.state.phase, RolloutPhase::Stable)
        && m.state
            .stable_revision
            .as_deref()
            .is_some_and(|s| s != revision)
        && !serving;
    if direct {
        // A stable that cannot serve all its replicas (the first deployment still
        // starting, or broken) takes a new template as a plain rolling update: there is no
        // healthy baseline to protect. One in a rolling update whose pods still serve all
        // replicas (right after a promotion, say) is such a baseline: a canary again.
        m.state.stable_revision = Some(revision.to_string());
    } else {
        m.feed(RolloutEvent::NewRevision(revision.to_string()));
    }

    // 2. A manual command: carried out, or a Warning saying why it does not apply.
    let mut last_command = status
        .and_then(|s| s.rollout.as_ref())
        .and_then(|r| r.last_command.clone());
    if let Some(value) = command {
        let (outcome, message) = match command::parse(value) {
            Ok(event) => {
                let (before, acted) = (m.state.clone(), m.actions.len());
                m.feed(event);
                if m.state == before && m.actions.len() == acted {
                    let why = command::not_applicable(value, &before.phase);
                    notices.push(Notice {
                        warning: true,
                        reason: "RolloutCommandIgnored".into(),
                        action: "Rollout".into(),
                        note: why.clone(),
                    });
                    ("Ignored", Some(why))
                } else {
                    ("Applied", None)
                }
            }
            Err(message) => {
                notices.push(Notice {
                    warning: true,
                    reason: "InvalidRolloutCommand".into(),
                    action: "Rollout".into(),
                    note: message.clone(),
                });
                ("Invalid", Some(message))
            }
        };
        last_command = to_time(now).map(|time| CommandStatus {
            command: value.trim().to_string(),
            outcome: outcome.into(),
            message,
            time,
        });
    }

    // 2b. The rollback gates of a live canary, once per interval: a 2xx rolls it back.
    let interval = canary.interval;
    let hooks = canary.webhooks.as_slice();
    let records: Vec<GateStatus> = status
        .and_then(|s| s.rollout.as_ref())
        .map(|r| r.gates.clone())
        .unwrap_or_default();
    let mut calls: Vec<GateCall> = Vec::new();
    let mut requeue = RESYNC;
    let has = |t: WebhookType| !gates::of_type(hooks, t).is_empty();
    if m.live() && has(WebhookType::Rollback) {
        let revision = m.state.canary_revision.clone().unwrap_or_default();
        match gates::due(&records, WebhookType::Rollback, &revision, interval, now) {
            Some(wait) => requeue = wait,
            None => {
                let answers = round(ctx, v, hooks, &m.state, WebhookType::Rollback).await;
                notices.extend(gate_notices(&answers, &revision));
                if let Some(event) = gates::rollback_event(&answers) {
                    m.feed(event);
                }
                calls.extend(answers);
                requeue = interval;
            }
        }
    }

    // 3. The analysis, when one is due (the pre-rollout gates first).
    if m.progressing() {
        if m.state.max_duration_exceeded(m.policy, now) {
            m.feed(RolloutEvent::MaxDurationExceeded);
        } else if m.state.awaiting_pre_rollout {
            let revision = m.state.canary_revision.clone().unwrap_or_default();
            match gates::due(&records, WebhookType::PreRollout, &revision, interval, now) {
                Some(wait) => requeue = requeue.min(wait),
                None => {
                    let answers = round(ctx, v, hooks, &m.state, WebhookType::PreRollout).await;
                    notices.extend(gate_notices(&answers, &revision));
                    m.feed(gates::pre_rollout_event(&answers));
                    calls.extend(answers);
                    // Passed: the canary's pods come up and are analysed an interval on;
                    // refused: the next try an interval on.
                    requeue = requeue.min(interval.min(PROGRESS_CHECK));
                }
            }
        } else {
            match analysis_due(&m.state, last_analysis.as_ref(), interval, now) {
                Some(wait) => requeue = wait,
                None => {
                    let canary_name = build_canary::name(&v.id.name);
                    let canary_now: Option<Deployment> =
                        apply::get(&ctx.client, &v.id.namespace, &canary_name)
                            .await
                            .map_err(|source| ReconcileError::Apply {
                                kind: "Deployment",
                                name: canary_name.clone(),
                                source,
                            })?;
                    let wanted =
                        crate::rollout::canary_replicas(v.replicas, m.state.canary_weight());
                    let event = match &canary_now {
                        Some(d) if stalled(d).is_some() => Some(RolloutEvent::CheckErrored {
                            metric: "canary-ready".into(),
                            error: stalled(d).unwrap_or_default(),
                        }),
                        Some(d) if deployment_ready(d, wanted) => {
                            let (event, record) = analyse(v, ctx, &m.state, interval, now).await;
                            if !matches!(
                                event,
                                RolloutEvent::CheckPassed | RolloutEvent::NoData { .. }
                            ) {
                                notices.push(Notice {
                                    warning: true,
                                    reason: "AnalysisFailed".into(),
                                    action: format!("Analyse {}", record.revision),
                                    note: failure_note(&event),
                                });
                            }
                            notices.extend(dry_run_notices(&record));
                            last_analysis = Some(record);
                            Some(
                                confirm_promotion(
                                    ctx,
                                    v,
                                    hooks,
                                    &m,
                                    event,
                                    &mut notices,
                                    &mut calls,
                                )
                                .await,
                            )
                        }
                        // Not ready yet: its pods' changes trigger the next reconcile.
                        _ => None,
                    };
                    if let Some(event) = event {
                        m.feed(event);
                    }
                    requeue = if m.progressing() {
                        interval.min(PROGRESS_CHECK)
                    } else {
                        RESYNC
                    };
                }
            }
        }
        if m.progressing() && requeue == RESYNC {
            requeue = interval;
        }
    }
    if m.live() && has(WebhookType::Rollback) {
        // A paused canary's rollback gates are asked too.
        requeue = requeue.min(interval);
    }
    let gates = match m.state.canary_revision.as_deref() {
        Some(revision) => to_time(now).map_or_else(Vec::new, |time| {
            gates::record(&records, hooks, revision, &calls, &time)
        }),
        None => Vec::new(),
    };

    // 4. A promotion of the spec's revision completes in this reconcile: the objects of
    // the promoted state are exactly its writes (the stable takes the template, the
    // canary goes). A Promoting state found at the start (an operator stopped
    // mid-promotion) is promoted again.
    if matches!(m.state.phase, RolloutPhase::Promoting)
        && m.state.canary_revision.as_deref() == Some(revision)
    {
        if !m
            .actions
            .iter()
            .any(|a| matches!(a, Action::Promote { .. }))
        {
            m.actions.push(Action::Promote {
                revision: revision.to_string(),
            });
        }
        m.feed(RolloutEvent::PromotionComplete);
    }

    Ok(Decision {
        previous,
        state: m.state,
        actions: m.actions,
        notices,
        last_analysis,
        last_command,
        gates,
        requeue,
        command_seen: command.is_some(),
    })
}

/// `event` as the machine gets it: an analysis that would promote asks the
/// confirm-promotion gates first, and one that has not said yes holds the canary at its
/// last step (`PromotionHeld`).
async fn confirm_promotion(
    ctx: &Context,
    v: &Validated<'_>,
    hooks: &[crate::crd::Webhook],
    m: &Machine<'_>,
    event: RolloutEvent,
    notices: &mut Vec<Notice>,
    calls: &mut Vec<GateCall>,
) -> RolloutEvent {
    if gates::of_type(hooks, WebhookType::ConfirmPromotion).is_empty()
        || !gates::promotes(&m.state, &event, m.policy, m.now)
    {
        return event;
    }
    let revision = m.state.canary_revision.clone().unwrap_or_default();
    let answers = round(ctx, v, hooks, &m.state, WebhookType::ConfirmPromotion).await;
    notices.extend(gate_notices(&answers, &revision));
    let held = gates::promotion_refused(&answers).is_some();
    calls.extend(answers);
    if held {
        RolloutEvent::PromotionHeld
    } else {
        event
    }
}

/// `hermes_operator_rollouts_total` and the canary weight gauge after a reconcile that
/// carried the decision out.
pub fn record_metrics(ctx: &Context, v: &Validated<'_>, decision: &Decision) {
    let (before, after) = (&decision.previous, &decision.state);
    let result = match (&before.phase, &after.phase) {
        (RolloutPhase::RolledBack { .. }, _) | (RolloutPhase::Aborted { .. }, _) => None,
        (_, RolloutPhase::RolledBack { .. }) => Some("rolled_back"),
        (_, RolloutPhase::Aborted { .. }) => Some("aborted"),
        (p, RolloutPhase::Stable)
            if !matches!(p, RolloutPhase::Stable)
                && after.stable_revision.is_some()
                && after.stable_revision == before.canary_revision =>
        {
            Some("promoted")
        }
        _ => None,
    };
    if let Some(result) = result {
        ctx.metrics.rollout_finished(result);
    }
    ctx.metrics
        .set_canary_weight(&v.id.namespace, &v.id.name, after.canary_weight());
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0)
            .single()
            .expect("time")
    }

    fn analysis(revision: &str, secs: i64) -> AnalysisStatus {
        AnalysisStatus {
            time: crate::rollout::persist::to_time(at(secs))
                .unwrap_or(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            revision: revision.into(),
            result: "Passed".into(),
            checks: Vec::new(),
        }
    }

    /// A Context whose API server answers nothing (a request would hang the test).
    fn silent_context() -> Context {
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let client = kube::Client::new(service, "ns");
        let mut registry = prometheus_client::registry::Registry::default();
        Context::new(
            client.clone(),
            crate::catalog::Catalog::builtin(),
            crate::events::recorder(client, crate::events::reporter(None)),
            crate::metrics::Metrics::new(&mut registry),
        )
    }

    #[tokio::test]
    async fn a_command_that_does_not_apply_is_recorded_with_a_warning_saying_why() {
        let hd: crate::crd::HermesDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": "chat", "namespace": "ns", "uid": "u-1"},
            "spec": {
                "image": "i:2",
                "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
                "rollout": {"canary": {}},
            },
            "status": {"rollout": {
                "phase": "RolledBack", "weight": 0, "stableRevision": "old",
                "canaryRevision": "new", "consecutiveFailures": 0,
                "reason": "check error-rate failed",
            }},
        }))
        .expect("resource");
        let catalog = crate::catalog::Catalog::builtin();
        let id = crate::validate::identity(&hd).expect("identity");
        let v = crate::validate::validate(id, &hd.spec, &catalog).expect("valid");
        let knobs = v.canary.clone().expect("canary");
        let ctx = silent_context();
        let (ctx, v, knobs, status) = (&ctx, &v, &knobs, hd.status.as_ref());
        let decide_with = move |command: &'static str| {
            decide(ctx, v, knobs, "new", status, Some(command), None, at(0))
        };

        let d = decide_with("promote").await.expect("decision");
        assert_eq!(d.state, d.previous, "nothing changed");
        assert!(d.actions.is_empty());
        assert_eq!(d.notices.len(), 1);
        assert_eq!(d.notices[0].reason, "RolloutCommandIgnored");
        assert!(d.notices[0].warning);
        assert!(
            d.notices[0].note.contains("use `retry` first"),
            "{}",
            d.notices[0].note
        );
        let last = d.last_command.expect("recorded");
        assert_eq!(
            (last.command.as_str(), last.outcome.as_str()),
            ("promote", "Ignored")
        );
        assert_eq!(last.message.as_deref(), Some(d.notices[0].note.as_str()));

        let d = decide_with("retry").await.expect("decision");
        assert!(d.notices.is_empty(), "{:?}", d.notices);
        assert!(matches!(d.state.phase, RolloutPhase::Progressing { .. }));
        assert_eq!(d.last_command.map(|c| c.outcome), Some("Applied".into()));

        let d = decide_with("rollback").await.expect("decision");
        assert_eq!(d.notices[0].reason, "InvalidRolloutCommand");
        assert_eq!(d.last_command.map(|c| c.outcome), Some("Invalid".into()));
    }

    #[tokio::test]
    async fn a_change_while_the_stable_serves_all_replicas_is_a_canary_even_mid_rolling_update() {
        let hd: crate::crd::HermesDeployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": "chat", "namespace": "ns", "uid": "u-1"},
            "spec": {
                "image": "i:3",
                "replicas": 2,
                "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
                "rollout": {"canary": {}},
            },
            "status": {"rollout": {
                "phase": "Stable", "weight": 0, "stableRevision": "promoted",
                "consecutiveFailures": 0,
            }},
        }))
        .expect("resource");
        let stable = |updated: i32, ready: i32| -> Deployment {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "chat", "generation": 4},
                "spec": {"selector": {}, "template": {}, "replicas": 2},
                "status": {"observedGeneration": 4, "replicas": 3,
                           "updatedReplicas": updated, "readyReplicas": ready},
            }))
            .expect("deployment")
        };
        let catalog = crate::catalog::Catalog::builtin();
        let ctx = silent_context();
        let id = crate::validate::identity(&hd).expect("identity");
        let v = crate::validate::validate(id, &hd.spec, &catalog).expect("valid");
        let knobs = v.canary.clone().expect("canary");
        for (what, deployment, canary) in [
            // Right after a promotion: one new pod, the old ones still serve.
            ("mid rolling update", stable(1, 2), true),
            ("fully rolled out", stable(2, 2), true),
            ("the first deployment still starting", stable(2, 0), false),
            ("broken: one of two ready", stable(2, 1), false),
        ] {
            let d = decide(
                &ctx,
                &v,
                &knobs,
                "next",
                hd.status.as_ref(),
                None,
                Some(&deployment),
                at(0),
            )
            .await
            .expect("decision");
            if canary {
                assert!(
                    matches!(d.state.phase, RolloutPhase::Progressing { .. }),
                    "{what}: {:?}",
                    d.state
                );
                assert_eq!(d.state.canary_revision.as_deref(), Some("next"), "{what}");
                assert_eq!(
                    d.state.stable_revision.as_deref(),
                    Some("promoted"),
                    "{what}"
                );
            } else {
                assert!(
                    matches!(d.state.phase, RolloutPhase::Stable),
                    "{what}: {:?}",
                    d.state
                );
                assert_eq!(d.state.stable_revision.as_deref(), Some("next"), "{what}");
            }
        }
    }

    #[test]
    fn an_analysis_is_due_one_interval_after_the_later_of_transition_and_last_run() {
        let state = RolloutState {
            phase: RolloutPhase::Progressing {
                step: 0,
                weight: 10,
            },
            canary_revision: Some("b".into()),
            last_transition: Some(at(0)),
            ..RolloutState::default()
        };
        let minute = Duration::from_secs(60);
        // Moved 30 s ago, never analysed: 30 s to wait.
        assert_eq!(
            analysis_due(&state, None, minute, at(30)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(analysis_due(&state, None, minute, at(60)), None);
        // Analysed 50 s in: the next one at 110 s.
        let last = analysis("b", 50);
        assert_eq!(
            analysis_due(&state, Some(&last), minute, at(100)),
            Some(Duration::from_secs(10))
        );
        assert_eq!(analysis_due(&state, Some(&last), minute, at(110)), None);
        // An analysis of another revision does not count.
        assert_eq!(
            analysis_due(&state, Some(&analysis("a", 50)), minute, at(60)),
            None
        );
        // Never below a second.
        assert_eq!(
            analysis_due(&state, None, Duration::from_millis(1), at(0)),
            Some(Duration::from_secs(1))
        );
    }
}
