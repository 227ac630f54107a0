//! One reconciliation, as a pipeline: validate -> size -> build (pure) -> with a canary,
//! decide (the state machine) and build the canary's objects -> one executor applies ->
//! one status write, plus an Event for every change. A failing resource is retried with
//! backoff by `error_policy` and never blocks the others.

use crate::apply;
use crate::build::{self, canary as build_canary};
use crate::canary;
use crate::context::{
    BACKOFF_BASE, BACKOFF_MAX, Context, PROGRESS_CHECK, RESYNC, ReconcileError, now,
};
use crate::crd::{HermesDeployment, Phase};
use crate::events::{self, Notice};
use crate::execute::{self, Step};
use crate::own_writes::{self, Freshness};
use crate::quantity::format_memory;
use crate::rollout::command;
use crate::sizing;
use crate::status::{self, Outcome, Rollout};
use crate::validate::{self, MissingMetadata};
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

fn key(hd: &HermesDeployment) -> String {
    key_of(&hd.namespace().unwrap_or_default(), &hd.name_any())
}

fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The controller's reconciler. Each reconcile runs in its own span (object, generation
/// and a fresh trace id), as kube-rs's controller-rs does, so every log line of one
/// reconcile can be found together.
pub async fn reconcile(
    hd: Arc<HermesDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!(
        "reconcile",
        object = %key(&hd),
        generation = hd.metadata.generation.unwrap_or_default(),
        trace_id = %trace_id,
    );
    let started = Instant::now();
    let result = reconcile_one(&hd, &ctx).instrument(span).await;
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

async fn reconcile_one(hd: &HermesDeployment, ctx: &Context) -> Result<Action, ReconcileError> {
    let id = validate::identity(hd)?;
    if hd.metadata.uid.is_none() {
        return Err(MissingMetadata("uid").into());
    }
    let (namespace, name) = (id.namespace.clone(), id.name.clone());
    // Being deleted: the garbage collector removes the owned objects; re-applying them
    // now would fight it.
    if hd.metadata.deletion_timestamp.is_some() {
        ctx.metrics.slo_objectives.forget(&namespace, &name);
        return Ok(Action::await_change());
    }
    // The cache has not yet seen this operator's own last write: acting on this copy
    // would repeat a step already taken (a promotion, a command).
    if ctx.own_writes.freshness(&key(hd), hd) == Freshness::Stale {
        tracing::debug!("cached copy older than our last write; waiting for the watch");
        return Ok(Action::requeue(own_writes::RECHECK));
    }
    let regarding = hd.object_ref(&());
    let generation = id.generation;
    let client = &ctx.client;

    // validate + size (pure): a refused spec writes its status and nothing else.
    let checked = validate::validate(id, &hd.spec, &ctx.catalog)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            let plan = sizing::plan(&v, &ctx.catalog).map_err(|e| e.to_string())?;
            Ok((v, plan))
        });
    let (v, plan) = match checked {
        Ok(checked) => checked,
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
                patch_status(ctx, &namespace, &name, &new).await?;
            }
            return Ok(Action::await_change());
        }
    };

    // The SLOs of a valid spec are the ones its pods are measured against (an invalid
    // spec changes nothing that runs, so its SLOs stay as they were).
    ctx.metrics
        .slo_objectives
        .declare(&namespace, &name, &v.spec.slos);

    // observe: a canary and an autoscaler need the stable Deployment as it is (with an
    // autoscaler, its replicas are the autoscaler's and are applied unchanged).
    let stable_observed = if v.canary.is_some() || v.spec.autoscaling.is_some() {
        apply::get(client, &namespace, &name)
            .await
            .map_err(|source| ReconcileError::Apply {
                kind: "Deployment",
                name: name.clone(),
                source,
            })?
    } else {
        None
    };
    let v = v.with_observed_replicas(stable_observed.as_ref());

    // build (pure)
    let desired = build::desired(&v, &plan, &ctx.catalog);
    let revision = desired.revision.clone();

    // With a canary: decide, and build the canary's objects from the new state. Every
    // read happens here, before the first write.
    let mut steps = Vec::new();
    let decision = match &v.canary {
        Some(canary_knobs) => {
            let stable_now = stable_observed.as_ref();
            let command = hd
                .annotations()
                .get(command::ANNOTATION)
                .map(String::as_str);
            let d = canary::decide(
                ctx,
                &v,
                canary_knobs,
                &revision,
                hd.status.as_ref(),
                command,
                stable_now,
                canary::decide::now(),
            )
            .await?;
            steps.extend(d.notices.iter().cloned().map(Step::Publish));
            let objects = build_canary::objects(&v, &desired, &d.state);
            let event_revision = d
                .state
                .canary_revision
                .clone()
                .or_else(|| d.previous.canary_revision.clone())
                .unwrap_or_else(|| revision.clone());
            steps.extend(canary::steps(
                &name,
                &revision,
                objects,
                &d.actions,
                &event_revision,
            ));
            Some(d)
        }
        None => {
            steps.push(Step::ApplyDeployment {
                deployment: desired.deployment.clone(),
                action: format!("Apply revision {revision}"),
                detail: format!(
                    ": revision {revision}, memory limit {}",
                    format_memory(plan.limit)
                ),
            });
            // `rollout.canary` was removed while a canary existed: the spec now rolls out
            // as one Deployment, so the canary goes.
            if hd.status.as_ref().is_some_and(|s| s.rollout.is_some()) {
                steps.push(Step::DeleteDeployment {
                    name: build_canary::name(&name),
                    action: "Remove canary".into(),
                });
            }
            None
        }
    };
    steps.push(Step::ApplyService {
        service: desired.service.clone(),
        action: "Apply".into(),
    });
    steps.push(match &desired.pdb {
        Some(pdb) => Step::ApplyPdb(pdb.clone()),
        None => Step::DeletePdb { name: name.clone() },
    });
    // An autoscaler the operator applied before goes with `spec.autoscaling` (the status
    // says whether there is one, so a resource that never autoscaled costs no request).
    match &desired.hpa {
        Some(hpa) => steps.push(Step::ApplyHpa(hpa.clone())),
        None => {
            if let Some(old) = hd.status.as_ref().and_then(|s| s.autoscaler.clone()) {
                steps.push(Step::DeleteHpa { name: old });
            }
        }
    }

    // apply (the only workload writes)
    let done = match execute::execute(client, &namespace, steps).await {
        Ok(done) => done,
        Err(e) => {
            // Someone else's object in the way: say so where users look (status, Events),
            // then retry with backoff like any failed apply.
            if let ReconcileError::Apply { source, .. } = &e
                && let Some(message) = apply::not_owned_message(source)
            {
                let new = status::compute(
                    hd.status.as_ref(),
                    generation,
                    &Outcome::NotOwned {
                        message: message.to_owned(),
                    },
                    &now(),
                );
                if hd.status.as_ref() != Some(&new) {
                    notify(ctx, &regarding, &[Notice::not_owned(message)]).await;
                    patch_status(ctx, &namespace, &name, &new).await?;
                }
            }
            return Err(e);
        }
    };
    if let Some(d) = &decision {
        canary::decide::record_metrics(ctx, &v, d);
    }
    notify(ctx, &regarding, &done.notices).await;

    // status (pure, then one patch when it changed)
    let stable = done
        .deployment(&name)
        .cloned()
        .or(stable_observed)
        .unwrap_or_default();
    let stable_revision = decision
        .as_ref()
        .and_then(|d| d.state.stable_revision.clone())
        .unwrap_or_else(|| revision.clone());
    let new = status::compute(
        hd.status.as_ref(),
        generation,
        &Outcome::Applied {
            revision: &stable_revision,
            replicas: v.replicas,
            memory: plan.to_status(),
            deployment: &stable,
            rollout: decision.as_ref().map(|d| Rollout {
                state: &d.state,
                last_analysis: d.last_analysis.clone(),
                last_command: d.last_command.clone(),
                gates: d.gates.clone(),
                waiting_for: v.canary.as_ref().and_then(|c| {
                    crate::rollout::gates::waiting_for(&d.state, &d.gates, &c.policy)
                }),
            }),
            autoscaler: desired.hpa.as_ref().map(|_| name.as_str()),
        },
        &now(),
    );
    // Ready, or rolled back with the stable serving: nothing moves until something changes.
    let ready = matches!(new.phase, Some(Phase::Ready | Phase::RolledBack));
    if hd.status.as_ref() != Some(&new) {
        patch_status(ctx, &namespace, &name, &new).await?;
    }
    let mut requeue = if ready { RESYNC } else { PROGRESS_CHECK };
    if let Some(d) = &decision {
        requeue = requeue.min(d.requeue);
        if d.command_seen {
            remove_command(ctx, &namespace, &name).await?;
        }
    }
    Ok(Action::requeue(requeue))
}

/// Removes the one-shot rollout command annotation once it was carried out.
async fn remove_command(ctx: &Context, namespace: &str, name: &str) -> Result<(), ReconcileError> {
    let api: Api<HermesDeployment> = Api::namespaced(ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "metadata": {"annotations": {command::ANNOTATION: null}},
    });
    let written = api
        .patch(name, &apply::merge_params(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::Annotation {
            name: name.into(),
            source,
        })?;
    ctx.own_writes
        .record(&format!("{namespace}/{name}"), &written);
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

/// The one status writer: a server-side apply of what `status::compute` returned.
async fn patch_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &crate::crd::HermesDeploymentStatus,
) -> Result<(), ReconcileError> {
    let api: Api<HermesDeployment> = Api::namespaced(ctx.client.clone(), namespace);
    let body = serde_json::json!({
        "apiVersion": HermesDeployment::api_version(&()),
        "kind": HermesDeployment::kind(&()),
        "status": status,
    });
    let written = api
        .patch_status(name, &apply::apply_params(), &Patch::Apply(&body))
        .await
        .map_err(|source| ReconcileError::Status {
            name: name.into(),
            source,
        })?;
    ctx.own_writes
        .record(&format!("{namespace}/{name}"), &written);
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
