//! One reconciliation: validate -> size -> build -> apply -> status, plus an Event for
//! every change. Each stage has its own error; a failing resource is retried with backoff
//! by `error_policy` and never blocks the others.

use crate::analysis::prometheus::Prometheus;
use crate::apply;
use crate::build::{self, BuildError};
use crate::canary;
use crate::catalog::Catalog;
use crate::crd::HermesDeployment;
use crate::events::{self, Notice};
use crate::metrics::Metrics;
use crate::quantity::format_memory;
use crate::sizing;
use crate::status::{self, Outcome};
use crate::validate;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Api, Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared by every reconciliation.
pub struct Context {
    pub client: Client,
    pub catalog: Catalog,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Where canary analyses query (`--prometheus-url`); a resource may name its own.
    pub prometheus: Option<Prometheus>,
    /// Consecutive failures per object, for the backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(client: Client, catalog: Catalog, recorder: Recorder, metrics: Metrics) -> Self {
        Context {
            client,
            catalog,
            recorder,
            metrics,
            prometheus: None,
            failures: Mutex::default(),
        }
    }

    /// The Prometheus canary analyses query.
    pub fn with_prometheus(mut self, prometheus: Prometheus) -> Self {
        self.prometheus = Some(prometheus);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("HermesDeployment has no {0}")]
    MissingMetadata(&'static str),
    #[error("building the desired objects: {0}")]
    Build(#[from] BuildError),
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("patching the status of {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("removing the rollout command annotation of {name}: {source}")]
    Annotation {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// Label of `hermes_operator_reconcile_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::MissingMetadata(_) => "missing_metadata",
            ReconcileError::Build(_) => "build",
            ReconcileError::Apply { .. } => "apply",
            ReconcileError::Status { .. } => "status",
            ReconcileError::Annotation { .. } => "annotation",
        }
    }
}

/// Requeue of a Ready resource: a periodic re-apply repairs drift nobody watched.
pub const RESYNC: Duration = Duration::from_secs(300);
/// Requeue while pods are still coming up (their changes also trigger a reconcile).
pub const PROGRESS_CHECK: Duration = Duration::from_secs(30);
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

fn key(hd: &HermesDeployment) -> String {
    format!("{}/{}", hd.namespace().unwrap_or_default(), hd.name_any())
}

/// The controller's reconciler.
pub async fn reconcile(
    hd: Arc<HermesDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = reconcile_one(&hd, &ctx).await;
    ctx.metrics
        .observe(started.elapsed(), result.as_ref().err().map(|e| e.reason()));
    if result.is_ok()
        && let Ok(mut failures) = ctx.failures.lock()
    {
        failures.remove(&key(&hd));
    }
    result
}

/// Retry with exponential backoff per object: 5 s, 10 s, 20 s ... up to 5 min.
pub fn error_policy(
    hd: Arc<HermesDeployment>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let attempt = match ctx.failures.lock() {
        Ok(mut failures) => {
            let n = failures.entry(key(&hd)).or_insert(0);
            *n = n.saturating_add(1);
            *n
        }
        Err(_) => 1,
    };
    let delay = backoff(attempt);
    tracing::warn!(object = %key(&hd), %error, attempt, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Delay before retry number `attempt` (1-based).
pub fn backoff(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

fn now() -> Time {
    // Whole seconds: the API server stores condition times with second precision, so an
    // unchanged status compares equal after a round trip.
    let t = Timestamp::now();
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

async fn reconcile_one(hd: &HermesDeployment, ctx: &Context) -> Result<Action, ReconcileError> {
    let namespace = hd
        .namespace()
        .ok_or(ReconcileError::MissingMetadata("namespace"))?;
    let name = hd
        .metadata
        .name
        .clone()
        .ok_or(ReconcileError::MissingMetadata("name"))?;
    if hd.metadata.uid.is_none() {
        return Err(ReconcileError::MissingMetadata("uid"));
    }
    // Being deleted: the garbage collector removes the owned objects; re-applying them
    // now would fight it.
    if hd.metadata.deletion_timestamp.is_some() {
        ctx.metrics.slo_objectives.forget(&namespace, &name);
        return Ok(Action::await_change());
    }
    let regarding = hd.object_ref(&());
    let generation = hd.metadata.generation;

    // validate + size (pure): a refused spec writes its status and nothing else.
    let checked = validate::validate(&hd.spec, &ctx.catalog)
        .map_err(|e| e.to_string())
        .and_then(|()| sizing::plan(&hd.spec, &ctx.catalog).map_err(|e| e.to_string()));
    let plan = match checked {
        Ok(plan) => plan,
        Err(message) => {
            let new = status::compute(
                hd.status.as_ref(),
                generation,
                &Outcome::Invalid {
                    message: message.clone(),
                },
                &now(),
            );
            if hd.status.as_ref() != Some(&new) {
                notify(ctx, &regarding, &[Notice::invalid_spec(&message)]).await;
                patch_status(&ctx.client, &namespace, &name, &new).await?;
            }
            return Ok(Action::await_change());
        }
    };

    // The SLOs of a valid spec are the ones its pods are measured against (an invalid
    // spec changes nothing that runs, so its SLOs stay as they were).
    ctx.metrics
        .slo_objectives
        .declare(&namespace, &name, &hd.spec.slos);

    // build (pure)
    let desired = build::desired(hd, &plan, &ctx.catalog)?;

    // apply (the only workload writes)
    let client = &ctx.client;
    let apply_err = |kind: &'static str| {
        let name = name.clone();
        move |source| ReconcileError::Apply { kind, name, source }
    };
    let mut notices = Vec::new();
    let canary_enabled = hd.spec.rollout.as_ref().is_some_and(|r| r.canary.is_some());
    let (deployment, stable_revision, rollout) = if canary_enabled {
        let outcome = canary::reconcile(hd, ctx, &desired, &mut notices).await?;
        let revision = outcome
            .state
            .stable_revision
            .clone()
            .unwrap_or_else(|| desired.revision.clone());
        (
            outcome.stable.clone().unwrap_or_default(),
            revision,
            Some(outcome),
        )
    } else {
        let (deployment, change) = apply::apply(client, &desired.deployment)
            .await
            .map_err(apply_err("Deployment"))?;
        let detail = format!(
            ": revision {}, memory limit {}",
            desired.revision,
            format_memory(plan.limit)
        );
        let rollout = format!("Apply revision {}", desired.revision);
        notices.extend(Notice::for_change(
            "Deployment",
            &name,
            change,
            &rollout,
            &detail,
        ));
        // `rollout.canary` was removed while a canary existed: the spec now rolls out as
        // one Deployment, so the canary goes.
        if hd.status.as_ref().is_some_and(|s| s.rollout.is_some()) {
            notices.extend(canary::remove_leftover(ctx, &namespace, &name).await?);
        }
        (deployment, desired.revision.clone(), None)
    };
    let (_, change) = apply::apply(client, &desired.service)
        .await
        .map_err(apply_err("Service"))?;
    notices.extend(Notice::for_change("Service", &name, change, "Apply", ""));
    let change = match &desired.pdb {
        Some(pdb) => {
            apply::apply(client, pdb)
                .await
                .map_err(apply_err("PodDisruptionBudget"))?
                .1
        }
        None => apply::delete_if_present::<PodDisruptionBudget>(client, &namespace, &name)
            .await
            .map_err(apply_err("PodDisruptionBudget"))?,
    };
    notices.extend(Notice::for_change(
        "PodDisruptionBudget",
        &name,
        change,
        "Apply",
        "",
    ));
    notify(ctx, &regarding, &notices).await;

    // status (pure diff, then one patch when it changed)
    let stamp = now();
    let mut new = status::compute(
        hd.status.as_ref(),
        generation,
        &Outcome::Applied {
            revision: &stable_revision,
            replicas: hd.spec.replicas,
            memory: plan.to_status(),
            deployment: &deployment,
        },
        &stamp,
    );
    if let Some(outcome) = &rollout {
        canary::overlay_status(&mut new, outcome, generation, &stamp);
    } else {
        new.rollout = None;
    }
    // Ready, or rolled back with the stable serving: nothing moves until something changes.
    let ready = matches!(
        new.phase,
        Some(crate::crd::Phase::Ready | crate::crd::Phase::RolledBack)
    );
    if hd.status.as_ref() != Some(&new) {
        patch_status(client, &namespace, &name, &new).await?;
    }
    let mut requeue = if ready { RESYNC } else { PROGRESS_CHECK };
    if let Some(outcome) = &rollout {
        requeue = requeue.min(outcome.requeue);
        if outcome.command_seen {
            remove_command(client, &namespace, &name).await?;
        }
    }
    Ok(Action::requeue(requeue))
}

/// Removes the one-shot rollout command annotation once it was carried out.
async fn remove_command(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<(), ReconcileError> {
    let api: Api<HermesDeployment> = Api::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({
        "metadata": {"annotations": {crate::rollout::command::ANNOTATION: null}},
    });
    api.patch(name, &apply::merge_params(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::Annotation {
            name: name.into(),
            source,
        })?;
    Ok(())
}

/// Events are best effort: a refused Event must not undo or repeat the change itself.
async fn notify(
    ctx: &Context,
    regarding: &k8s_openapi::api::core::v1::ObjectReference,
    notices: &[Notice],
) {
    for n in notices {
        if let Err(error) = events::publish(&ctx.recorder, regarding, n).await {
            tracing::warn!(reason = %n.reason, %error, "could not publish an Event");
        }
    }
}

async fn patch_status(
    client: &Client,
    namespace: &str,
    name: &str,
    status: &crate::crd::HermesDeploymentStatus,
) -> Result<(), ReconcileError> {
    let api: Api<HermesDeployment> = Api::namespaced(client.clone(), namespace);
    let body = serde_json::json!({
        "apiVersion": HermesDeployment::api_version(&()),
        "kind": HermesDeployment::kind(&()),
        "status": status,
    });
    api.patch_status(name, &apply::apply_params(), &Patch::Apply(&body))
        .await
        .map_err(|source| ReconcileError::Status {
            name: name.into(),
            source,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<u64> = (1..=9).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
