//! The controller: watches HermesDeployments and the objects they own, and reconciles
//! each one. A failing resource is retried by `error_policy`; a watch error is counted
//! and logged, and the watch carries on: one bad resource never stops the others.

use crate::context::Context;
use crate::crd::HermesDeployment;
use crate::metrics::Metrics;
use crate::reconcile::{error_policy, reconcile};
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Runs the controller until `shutdown` completes.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let client = ctx.client.clone();
    // Only objects we made: a cluster's other Deployments are none of our business.
    let owned = watcher::Config::default().labels(&format!(
        "{}={}",
        crate::build::labels::MANAGED_BY,
        crate::build::labels::MANAGER
    ));
    let controller = Controller::new(
        Api::<HermesDeployment>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Deployment>::all(client.clone()), owned.clone())
    .owns(Api::<Service>::all(client.clone()), owned.clone())
    .owns(Api::<PodDisruptionBudget>::all(client), owned)
    .graceful_shutdown_on(shutdown);
    let metrics = ctx.metrics.clone();
    let store = controller.store();
    tokio::select! {
        () = drain(controller.run(reconcile, error_policy, ctx), &metrics) => {}
        () = prune_slo_objectives(store, &metrics) => {}
    }
}

/// How often the SLO objectives of resources no longer in the cache are removed: the
/// backstop for a deletion no reconcile saw (e.g. `--cascade=orphan`, nothing owned).
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Removes, every `PRUNE_EVERY`, the SLO series of HermesDeployments that are gone.
async fn prune_slo_objectives(store: Store<HermesDeployment>, metrics: &Metrics) {
    if store.wait_until_ready().await.is_err() {
        // The controller stopped before its first list: nothing to prune, ever.
        return std::future::pending().await;
    }
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tick.tick().await;
        metrics
            .slo_objectives
            .retain(|namespace, name| store.get(&ObjectRef::new(name).within(namespace)).is_some());
    }
}

/// Consumes the controller's results: logs each, counts watch errors, never stops early.
pub async fn drain<S, RE, QE>(results: S, metrics: &Metrics)
where
    S: Stream<Item = Result<(ObjectRef<HermesDeployment>, Action), controller::Error<RE, QE>>>,
    RE: Display + std::error::Error + 'static,
    QE: Display + std::error::Error + 'static,
{
    results
        .for_each(|result| async move {
            match result {
                Ok((object, action)) => tracing::debug!(%object, ?action, "reconciled"),
                // Already logged with its backoff by error_policy.
                Err(controller::Error::ReconcilerFailed(_, _)) => {}
                Err(controller::Error::ObjectNotFound(object)) => {
                    // Deleted (its owned objects' deletion triggered this): its SLOs go.
                    if let Some(ns) = &object.namespace {
                        metrics.slo_objectives.forget(ns, &object.name);
                    }
                    tracing::debug!(%object, "object gone before its reconcile")
                }
                Err(error) => {
                    metrics.watch_errors.inc();
                    tracing::warn!(%error, "watch error; the controller carries on");
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use kube::runtime::{WatchStreamExt, reflector};
    use std::sync::Mutex;
    use std::time::Duration;

    fn hd(name: &str) -> HermesDeployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
            "spec": {"image": "i:1", "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}]},
        }))
        .expect("hd")
    }

    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;

    /// A watch error between two resources, and a resource whose reconcile fails: the
    /// controller still reconciles the next resource, and counts the watch error.
    #[tokio::test]
    async fn keeps_going_after_a_watch_error_and_a_failing_resource() {
        let (reader, writer) = reflector::store::<HermesDeployment>();
        // An initial list with one resource, then a watch error, then a new resource; the
        // stream then stays open, as a watch does.
        let events = futures::stream::iter(vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(hd("bad"))),
            Ok(watcher::Event::InitDone),
            Err(watcher::Error::NoResourceVersion),
            Ok(watcher::Event::Apply(hd("good"))),
        ])
        .chain(futures::stream::pending());
        // The queue a Controller builds from its watch, with the error in the middle.
        let queue = reflector(writer, events)
            .applied_objects()
            .map_ok(|o| ObjectRef::from_obj(&o));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let results = controller::applier(
            |obj: Arc<HermesDeployment>, seen: Arc<Mutex<Vec<String>>>| {
                Box::pin(async move {
                    let name = obj.metadata.name.clone().unwrap_or_default();
                    if let Ok(mut s) = seen.lock() {
                        s.push(name.clone());
                    }
                    if name == "bad" {
                        Err(Refused)
                    } else {
                        Ok(Action::await_change())
                    }
                })
            },
            |_, _, _| Action::await_change(),
            seen.clone(),
            reader,
            queue,
            controller::Config::default(),
        );
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Metrics::new(&mut registry);
        // bad (failed), the watch error, good: three results, then stop listening.
        tokio::time::timeout(Duration::from_secs(10), drain(results.take(3), &metrics))
            .await
            .expect("the controller produced three results");
        let mut seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.sort();
        assert_eq!(seen, ["bad", "good"]);
        assert_eq!(metrics.watch_errors.get(), 1);
    }

    /// A resource whose reconcile finds it gone (its owned objects' deletion queued it)
    /// loses its SLO objectives; the others keep theirs.
    #[tokio::test]
    async fn a_deleted_resource_loses_its_slo_objectives() {
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Metrics::new(&mut registry);
        let slo: crate::crd::Slo = serde_json::from_value(serde_json::json!(
            {"route": "/embed_text", "latencyP95": "1s", "maxErrorRate": 0.01}
        ))
        .expect("slo");
        metrics
            .slo_objectives
            .declare("ns", "gone", std::slice::from_ref(&slo));
        metrics.slo_objectives.declare("ns", "kept", &[slo]);
        let gone = ObjectRef::<HermesDeployment>::new("gone")
            .within("ns")
            .erase();
        let results = futures::stream::iter(vec![Err::<
            (ObjectRef<HermesDeployment>, Action),
            controller::Error<Refused, watcher::Error>,
        >(controller::Error::ObjectNotFound(
            Box::new(gone),
        ))]);
        tokio::time::timeout(Duration::from_secs(10), drain(results, &metrics))
            .await
            .expect("drained");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(!text.contains(r#"hermesdeployment="gone""#), "{text}");
        assert!(
            text.contains(r#"hermes_slo_objective_error_rate{namespace="ns",hermesdeployment="kept",route="/embed_text"} 0.01"#),
            "{text}"
        );
        assert_eq!(metrics.slo_objectives.declared_count(), 1);
    }
}
