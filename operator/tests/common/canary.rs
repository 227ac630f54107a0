//! The pieces of the canary scenarios (canary_api.rs, route_api.rs, commands_api.rs): a
//! stand-in for Prometheus's query API, the cluster as the server holds it mid-rollout,
//! and the rollout status that puts a resource there.

use super::{NAME, hd, plain_context, plan_and_desired, spec};
use axum::extract::Query;
use hermes_operator::analysis::prometheus::Prometheus;
use hermes_operator::context::Context;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub const OLD_IMAGE: &str = "hermes-runtime:1";
pub const NEW_IMAGE: &str = "hermes-runtime:2";
pub const HD_PATH: &str = "/apis/hermes.logos.dev/v1alpha1/namespaces/ns/hermesdeployments/hermes";
pub const HTTPROUTES: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/ns/httproutes";

/// Serves `/api/v1/query` answering `error_rate` to 5xx-ratio queries and `latency` to the
/// rest; returns its base URL.
pub async fn prometheus_answering(error_rate: &'static str, latency: &'static str) -> String {
    let app = axum::Router::new().route(
        "/api/v1/query",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| async move {
            let query = q.get("query").cloned().unwrap_or_default();
            let value = if query.contains("status=~\"5..\"") {
                error_rate
            } else {
                latency
            };
            axum::Json(json!({
                "status": "success",
                "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1_800_000_000.0, value]}]},
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Two replicas, one SLO on /embed_text, canary steps 50 and 100 (`rollout` overrides
/// the whole `spec.rollout`).
pub fn canary_spec_with(image: &str, rollout: Value) -> Value {
    let mut s = spec(2, image);
    s["slos"] = json!([{"route": "/embed_text", "latencyP95": "250ms", "maxErrorRate": 0.05}]);
    s["rollout"] = rollout;
    s
}

pub fn canary_spec(image: &str) -> Value {
    canary_spec_with(
        image,
        json!({"canary": {"steps": [50, 100], "interval": "1m", "failureLimit": 2}}),
    )
}

/// An object as the server holds it: `desired` with a resourceVersion and, for a
/// Deployment, a status of `ready` pods at generation 1.
pub fn stored(mut desired: Value, ready: i32) -> Value {
    desired["metadata"]["resourceVersion"] = json!("5");
    desired["metadata"]["generation"] = json!(1);
    desired["status"] = json!({"observedGeneration": 1, "replicas": ready, "readyReplicas": ready, "updatedReplicas": ready});
    desired
}

/// What the operator builds for `spec`.
pub fn desired_of(spec: Value) -> hermes_operator::build::Desired {
    plan_and_desired(&hd(spec, None)).1
}

/// The stable (`old` spec) and canary (`new` spec at `canary_replicas`) Deployments, the
/// main Service, and the new revision.
pub fn cluster_of(old: Value, new: Value, canary_replicas: i32) -> (Value, Value, Value, String) {
    let old = desired_of(old);
    let new = desired_of(new);
    let stable = stored(serde_json::to_value(&old.deployment).expect("json"), 2);
    let canary_dep =
        hermes_operator::build::canary::deployment(&new.deployment, NAME, canary_replicas);
    let canary = stored(
        serde_json::to_value(&canary_dep).expect("json"),
        canary_replicas,
    );
    let mut service = serde_json::to_value(&new.service).expect("json");
    service["metadata"]["resourceVersion"] = json!("7");
    (stable, canary, service, new.revision)
}

/// `cluster_of` for `canary_spec` with the old and the new image.
pub fn cluster(canary_replicas: i32) -> (Value, Value, Value, String) {
    cluster_of(
        canary_spec(OLD_IMAGE),
        canary_spec(NEW_IMAGE),
        canary_replicas,
    )
}

pub fn old_revision() -> String {
    desired_of(canary_spec(OLD_IMAGE)).revision
}

/// A status in the middle of a rollout of `canary` at `step`/`weight`, last moved long ago
/// (so the analysis is due).
pub fn rollout_status(canary: &str, step: u32, weight: i32, failures: u32) -> Value {
    json!({
        "phase": "Progressing",
        "stableRevision": old_revision(),
        "canaryRevision": canary,
        "canaryWeight": weight,
        "rollout": {
            "phase": "Progressing",
            "step": step,
            "weight": weight,
            "stableRevision": old_revision(),
            "canaryRevision": canary,
            "consecutiveFailures": failures,
            "startedAt": "2026-01-01T00:00:00Z",
            "lastTransition": "2026-01-01T00:00:00Z",
        },
    })
}

/// A Context whose analyses query `url`.
pub fn with_prometheus(url: String) -> impl FnOnce(kube::Client) -> Arc<Context> {
    move |client| {
        Arc::new(plain_context(client).with_prometheus(Prometheus::standalone(&url).expect("url")))
    }
}

/// The Event reasons of `bodies` (Event POST bodies).
pub fn reasons(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| b["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `hermes_operator_rollouts_total{result}` of the Context's metrics.
pub fn rollouts(ctx: &Context, result: &str) -> u64 {
    ctx.metrics
        .rollouts
        .get_or_create(&hermes_operator::metrics::ResultLabels {
            result: result.into(),
        })
        .get()
}
