//! The canary half of a reconcile (only with `rollout.canary`): feed the state machine
//! what happened (a new revision, a manual command, an analysis that is due), then make
//! the cluster match the new state:
//!
//! - stable Deployment `<name>`: applied from the spec only while the spec's revision is
//!   the stable one (or is being promoted); otherwise left exactly as it runs;
//! - canary Deployment `<name>-canary`: the spec's template with
//!   `canary_replicas(replicas, weight)` pods while progressing or paused, 0 pods after a
//!   rollback or abort, deleted once promoted or reverted;
//! - with `traffic.httpRoute`: the route's weights (`traffic.rs`).
//!
//! The state (with the last analysis) goes to `status.rollout`; the reconcile writes it.

use crate::analysis::plan::{self, Target};
use crate::analysis::prometheus::Prometheus;
use crate::analysis::run::{self, CheckResult};
use crate::apply;
use crate::build::{Desired, canary as build_canary};
use crate::crd::{AnalysisStatus, HermesDeployment, HermesDeploymentStatus, Phase};
use crate::events::Notice;
use crate::reconcile::{Context, PROGRESS_CHECK, RESYNC, ReconcileError};
use crate::rollout::persist::{from_status, from_time, to_status, to_time};
use crate::rollout::{
    Action, CanaryPolicy, RolloutEvent, RolloutPhase, RolloutState, canary_replicas, command, next,
};
use crate::traffic;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use std::time::{Duration, Instant};

/// What the canary half decided, for the status and the requeue.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: RolloutState,
    pub last_analysis: Option<AnalysisStatus>,
    /// The stable Deployment as it is now (applied or read).
    pub stable: Option<Deployment>,
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
}

pub async fn reconcile(
    hd: &HermesDeployment,
    ctx: &Context,
    desired: &Desired,
    notices: &mut Vec<Notice>,
) -> Result<Outcome, ReconcileError> {
    let namespace = hd.namespace().unwrap_or_default();
    let name = hd.name_any();
    let canary_spec = hd.spec.rollout.as_ref().and_then(|r| r.canary.as_ref());
    let policy = CanaryPolicy::from_spec(canary_spec);
    let interval = CanaryPolicy::interval(canary_spec);
    let now = now();
    let client = &ctx.client;
    let apply_err = |kind: &'static str| {
        let name = name.clone();
        move |source| ReconcileError::Apply { kind, name, source }
    };

    let previous = previous_state(hd.status.as_ref());
    let mut last_analysis = hd
        .status
        .as_ref()
        .and_then(|s| s.rollout.as_ref())
        .and_then(|r| r.last_analysis.clone());
    let mut m = Machine {
        state: previous.clone(),
        policy: &policy,
        now,
        actions: Vec::new(),
    };

    // 1. The spec's revision.
    let stable_now: Option<Deployment> = apply::get(client, &namespace, &name)
        .await
        .map_err(apply_err("Deployment"))?;
    let stable_ready = stable_now
        .as_ref()
        .is_some_and(|d| deployment_ready(d, hd.spec.replicas));
    let revision = desired.revision.clone();
    let direct = matches!(m.state.phase, RolloutPhase::Stable)
        && m.state
            .stable_revision
            .as_ref()
            .is_some_and(|s| *s != revision)
        && !stable_ready;
    if direct {
        // A stable that is not Ready (still rolling out, or broken) takes a new template as
        // a plain rolling update: there is no healthy baseline to protect.
        m.state.stable_revision = Some(revision.clone());
    } else {
        m.feed(RolloutEvent::NewRevision(revision.clone()));
    }

    // 2. A manual command.
    let command_seen = match hd.annotations().get(command::ANNOTATION) {
        None => false,
        Some(value) => {
            match command::parse(value) {
                Ok(event) => m.feed(event),
                Err(message) => notices.push(Notice {
                    warning: true,
                    reason: "InvalidRolloutCommand".into(),
                    action: "Rollout".into(),
                    note: message,
                }),
            }
            true
        }
    };

    // 3. The analysis, when one is due.
    let mut requeue = RESYNC;
    if matches!(m.state.phase, RolloutPhase::Progressing { .. }) {
        if m.state.max_duration_exceeded(&policy, now) {
            m.feed(RolloutEvent::MaxDurationExceeded);
        } else {
            let last_run = last_analysis
                .as_ref()
                .filter(|a| m.state.canary_revision.as_deref() == Some(a.revision.as_str()))
                .and_then(|a| from_time(&a.time));
            let since = [m.state.last_transition, last_run]
                .into_iter()
                .flatten()
                .max();
            let due_at = since.map_or(now, |t| t + interval_delta(interval));
            if now >= due_at {
                let canary_name = build_canary::name(&name);
                let canary_now: Option<Deployment> = apply::get(client, &namespace, &canary_name)
                    .await
                    .map_err(apply_err("Deployment"))?;
                let wanted = canary_replicas(hd.spec.replicas, m.state.canary_weight());
                let event = match &canary_now {
                    Some(d) if stalled(d).is_some() => Some(RolloutEvent::CheckErrored {
                        metric: "canary-ready".into(),
                        error: stalled(d).unwrap_or_default(),
                    }),
                    Some(d) if deployment_ready(d, wanted) => {
                        let (event, record) = analyse(hd, ctx, &m.state, interval, now).await;
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
                        last_analysis = Some(record);
                        Some(event)
                    }
                    // Not ready yet: its pods' changes trigger the next reconcile.
                    _ => None,
                };
                if let Some(event) = event {
                    m.feed(event);
                }
                requeue = if matches!(m.state.phase, RolloutPhase::Progressing { .. }) {
                    interval.min(PROGRESS_CHECK)
                } else {
                    RESYNC
                };
            } else {
                requeue = (due_at - now)
                    .to_std()
                    .unwrap_or(interval)
                    .max(Duration::from_secs(1));
            }
        }
        if matches!(m.state.phase, RolloutPhase::Progressing { .. }) && requeue == RESYNC {
            requeue = interval;
        }
    }

    // 4. The cluster follows the state.
    let promoting = matches!(m.state.phase, RolloutPhase::Promoting)
        && m.state.canary_revision.as_deref() == Some(revision.as_str());
    let stable = if promoting || m.state.stable_revision.as_deref() == Some(revision.as_str()) {
        let (d, change) = apply::apply(client, &desired.deployment)
            .await
            .map_err(apply_err("Deployment"))?;
        notices.extend(Notice::for_change(
            "Deployment",
            &name,
            change,
            &format!("Apply revision {revision}"),
            &format!(": revision {revision}"),
        ));
        Some(d)
    } else {
        stable_now
    };
    let canary_name = build_canary::name(&name);
    let canary_weight = match &m.state.phase {
        RolloutPhase::Progressing { weight, .. } | RolloutPhase::Paused { weight, .. } => {
            Some(*weight)
        }
        RolloutPhase::RolledBack { .. } | RolloutPhase::Aborted { .. } => Some(0),
        RolloutPhase::Stable | RolloutPhase::Promoting => None,
    };
    match canary_weight {
        Some(weight) if m.state.canary_revision.as_deref() == Some(revision.as_str()) => {
            let replicas = canary_replicas(hd.spec.replicas, weight);
            let d = build_canary::deployment(&desired.deployment, &name, replicas);
            let (_, change) = apply::apply(client, &d)
                .await
                .map_err(apply_err("Deployment"))?;
            notices.extend(Notice::for_change(
                "Deployment",
                &canary_name,
                change,
                &format!("Canary {revision}"),
                &format!(": revision {revision}, {replicas} replicas at weight {weight}%"),
            ));
        }
        Some(_) => {}
        None => {
            let had_canary = previous.canary_revision.is_some()
                || !matches!(previous.phase, RolloutPhase::Stable);
            if had_canary || promoting {
                let change =
                    apply::delete_if_present::<Deployment>(client, &namespace, &canary_name)
                        .await
                        .map_err(apply_err("Deployment"))?;
                notices.extend(Notice::for_change(
                    "Deployment",
                    &canary_name,
                    change,
                    "Remove canary",
                    "",
                ));
            }
        }
    }
    if promoting {
        m.feed(RolloutEvent::PromotionComplete);
    }
    if let Some(route) = hd
        .spec
        .rollout
        .as_ref()
        .and_then(|r| r.traffic.as_ref())
        .and_then(|t| t.http_route.as_ref())
    {
        let stable_rev = m
            .state
            .stable_revision
            .clone()
            .unwrap_or_else(|| revision.clone());
        let changes = traffic::route(
            ctx,
            &namespace,
            &name,
            &route.name,
            desired,
            &stable_rev,
            m.state.canary_weight(),
        )
        .await?;
        notices.extend(changes);
    }

    // 5. Events and metrics of what happened.
    for action in &m.actions {
        if let Action::Event {
            reason,
            message,
            warning,
        } = action
        {
            let rev = m
                .state
                .canary_revision
                .clone()
                .or_else(|| previous.canary_revision.clone())
                .unwrap_or_else(|| revision.clone());
            notices.push(Notice {
                warning: *warning,
                reason: reason.clone(),
                action: format!("Rollout {rev}"),
                note: message.chars().take(1000).collect(),
            });
        }
    }
    record_metrics(ctx, &namespace, &name, &previous, &m.state);

    Ok(Outcome {
        state: m.state,
        last_analysis,
        stable,
        requeue,
        command_seen,
    })
}

fn interval_delta(interval: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::seconds(60))
}

fn failure_note(event: &RolloutEvent) -> String {
    match event {
        RolloutEvent::CheckFailed {
            metric,
            value,
            threshold,
        } => format!("check {metric} failed: value {value} against threshold {threshold}"),
        RolloutEvent::CheckErrored { metric, error } => format!("check {metric} failed: {error}"),
        other => format!("{other:?}"),
    }
}

/// The Prometheus of `hd`: its own `analysis.prometheusUrl`, else the operator's.
fn prometheus_for(hd: &HermesDeployment, ctx: &Context) -> Result<Prometheus, String> {
    let own = hd
        .spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.prometheus_url.as_deref());
    match (own, &ctx.prometheus) {
        (Some(url), _) => Prometheus::standalone(url).map_err(|e| e.to_string()),
        (None, Some(p)) => Ok(p.clone()),
        (None, None) => Err(
            "no Prometheus configured (hermes-operator run --prometheus-url, or rollout.analysis.prometheusUrl)"
                .into(),
        ),
    }
}

/// Runs one analysis of the canary in `state`.
async fn analyse(
    hd: &HermesDeployment,
    ctx: &Context,
    state: &RolloutState,
    interval: Duration,
    now: DateTime<Utc>,
) -> (RolloutEvent, AnalysisStatus) {
    let namespace = hd.namespace().unwrap_or_default();
    let name = hd.name_any();
    let revision = state.canary_revision.clone().unwrap_or_default();
    let window = plan::window(&hd.spec, interval);
    let checks = plan::checks(
        &hd.spec,
        &Target {
            namespace: &namespace,
            name: &name,
            revision: &revision,
            stable_revision: state.stable_revision.as_deref(),
            window: &window,
        },
    );
    let started = Instant::now();
    let prometheus = prometheus_for(hd, ctx);
    let results: Vec<CheckResult> =
        run::run(prometheus.as_ref().map_err(Clone::clone), &checks).await;
    ctx.metrics
        .analysis_duration
        .observe(started.elapsed().as_secs_f64());
    let event = run::decide(&results);
    let record = AnalysisStatus {
        time: to_time(now).unwrap_or(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
        revision,
        result: run::summary(&event).into(),
        checks: results.iter().map(CheckResult::to_status).collect(),
    };
    (event, record)
}

fn record_metrics(
    ctx: &Context,
    namespace: &str,
    name: &str,
    before: &RolloutState,
    after: &RolloutState,
) {
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
        .set_canary_weight(namespace, name, after.canary_weight());
}

/// The status fields of the rollout, on top of the workload's status.
pub fn overlay_status(
    status: &mut HermesDeploymentStatus,
    outcome: &Outcome,
    generation: Option<i64>,
    now: &Time,
) {
    let state = &outcome.state;
    let previous = status.conditions.clone();
    status.stable_revision = state.stable_revision.clone();
    status.canary_revision = state
        .canary_revision
        .clone()
        .filter(|_| !matches!(state.phase, RolloutPhase::Stable));
    status.canary_weight = Some(state.canary_weight());
    status.rollout = Some(to_status(state, outcome.last_analysis.clone()));
    let degraded = status.phase == Some(Phase::Degraded);
    let (rolled_back, reason, message) = match &state.phase {
        RolloutPhase::RolledBack { reason } => (true, "AnalysisFailed", reason.clone()),
        RolloutPhase::Aborted { reason } => (true, "Aborted", reason.clone()),
        _ => (false, "NotRolledBack", String::new()),
    };
    if !degraded {
        match &state.phase {
            RolloutPhase::Progressing { step, weight } | RolloutPhase::Paused { step, weight } => {
                status.phase = Some(Phase::Progressing);
                let paused = matches!(state.phase, RolloutPhase::Paused { .. });
                let msg = format!(
                    "canary revision {} at {weight}% (step {}){}",
                    state.canary_revision.as_deref().unwrap_or("-"),
                    step + 1,
                    if paused { ", paused" } else { "" }
                );
                set_condition(
                    status,
                    &previous,
                    "Progressing",
                    true,
                    if paused {
                        "CanaryPaused"
                    } else {
                        "CanaryAnalysis"
                    },
                    msg,
                    generation,
                    now,
                );
            }
            RolloutPhase::RolledBack { .. } | RolloutPhase::Aborted { .. } => {
                status.phase = Some(Phase::RolledBack);
            }
            _ => {}
        }
    }
    set_condition(
        status,
        &previous,
        "RolledBack",
        rolled_back,
        reason,
        message,
        generation,
        now,
    );
}

#[allow(clippy::too_many_arguments)]
fn set_condition(
    status: &mut HermesDeploymentStatus,
    previous: &[Condition],
    type_: &str,
    value: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) {
    let value = if value { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == value)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    let condition = Condition {
        type_: type_.into(),
        status: value.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match status.conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => *c = condition,
        None => status.conditions.push(condition),
    }
}

/// After a rollout feature is switched off mid-rollout: remove a leftover canary.
pub async fn remove_leftover(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<Notice>, ReconcileError> {
    let canary_name = build_canary::name(name);
    let change = apply::delete_if_present::<Deployment>(&ctx.client, namespace, &canary_name)
        .await
        .map_err(|source| ReconcileError::Apply {
            kind: "Deployment",
            name: canary_name.clone(),
            source,
        })?;
    Ok(Notice::for_change(
        "Deployment",
        &canary_name,
        change,
        "Remove canary",
        "",
    ))
}
