//! API scenarios of a canary rollout with `rollout.traffic.httpRoute` (tower-test, every
//! request's method, path and body asserted in order): the two backend Services and the
//! weighted `backendRefs` PATCH of the HTTPRoute at a step, at the promotion and at a
//! rollback.

mod common;

use common::canary::*;
use common::*;
use hermes_operator::build::canary as build_canary;
use serde_json::{Value, json};

fn route_rollout(steps: Value) -> Value {
    json!({
        "canary": {"steps": steps, "interval": "1m", "failureLimit": 2},
        "traffic": {"httpRoute": {"name": "hermes"}},
    })
}

/// The user's HTTPRoute as the server holds it, its backends at `stable`/`canary` percent.
fn http_route(stable: i32, canary: i32) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "hermes", "namespace": NS, "resourceVersion": "42"},
        "spec": {
            "parentRefs": [{"name": "public-gateway"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        {"group": "", "kind": "Service", "name": "hermes-stable", "port": 8080, "weight": stable},
                        {"group": "", "kind": "Service", "name": "hermes-canary", "port": 8080, "weight": canary},
                    ],
                },
            ],
        },
    })
}

/// (name, weight) of each backend of every rule of a route PATCH body.
fn weights(patch: &Value) -> Vec<Vec<(String, i64)>> {
    patch["spec"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| {
            rule["backendRefs"]
                .as_array()
                .expect("backendRefs")
                .iter()
                .map(|b| {
                    (
                        b["name"].as_str().unwrap_or_default().to_string(),
                        b["weight"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .collect()
}

fn applied(resource_version: &'static str) -> Reply {
    Reply::Applied {
        resource_version,
        status: None,
    }
}

#[tokio::test]
async fn a_passed_step_moves_the_route_weights_to_the_next_step() {
    let url = prometheus_answering("0", "0.02").await;
    let steps = json!([20, 50, 100]);
    let (stable, canary, service, revision) = cluster_of(
        canary_spec_with(OLD_IMAGE, route_rollout(steps.clone())),
        canary_spec_with(NEW_IMAGE, route_rollout(steps.clone())),
        1,
    );
    let resource = hd(
        canary_spec_with(NEW_IMAGE, route_rollout(steps)),
        Some(rollout_status(&revision, 0, 20, 0)),
    );
    let canary_ready = canary["status"].clone();
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable),
        ),
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary.clone()),
        ),
        // 20 % -> 50 %: still one canary pod of two replicas, so the apply changes nothing.
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Applied {
                resource_version: "5",
                status: Some(canary_ready),
            },
        ),
        // The route's two backend Services, then the route itself.
        step("GET", format!("{SERVICES}/hermes-stable"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes-stable"), applied("1")),
        step("GET", format!("{SERVICES}/hermes-canary"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes-canary"), applied("1")),
        step(
            "GET",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(80, 20)),
        ),
        step(
            "PATCH",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(50, 50)),
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, with_prometheus(url)).await;
    assert!(result.is_ok(), "{result:?}");

    // The reconcile exported the resource's SLO for the chart's alert rules.
    let mut registry = prometheus_client::registry::Registry::default();
    ctx.metrics.slo_objectives.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    assert!(
        text.contains(r#"hermes_slo_objective_error_rate{namespace="ns",hermesdeployment="hermes",route="/embed_text"} 0.05"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hermes_slo_objective_latency_seconds{namespace="ns",hermesdeployment="hermes",route="/embed_text",quantile="0.95"} 0.25"#),
        "{text}"
    );

    assert_eq!(
        bodies[3]["spec"]["replicas"], 1,
        "canary pods for 50 % of 2"
    );
    // <name>-stable selects the stable revision's pods, <name>-canary the canary track.
    let stable_svc = &bodies[5];
    assert_eq!(stable_svc["metadata"]["name"], "hermes-stable");
    assert_eq!(
        stable_svc["spec"]["selector"]["hermes.logos.dev/revision"],
        old_revision().as_str()
    );
    let canary_svc = &bodies[7];
    assert_eq!(canary_svc["metadata"]["name"], "hermes-canary");
    assert_eq!(
        canary_svc["spec"]["selector"][build_canary::TRACK],
        build_canary::TRACK_CANARY
    );
    assert!(
        canary_svc["spec"]["selector"]
            .get("hermes.logos.dev/revision")
            .is_none()
    );
    // The route PATCH: the next step's weights on every rule, guarded by the
    // resourceVersion read; the parents and matches stay the user's (not in the patch).
    let route = &bodies[9];
    assert_eq!(route["metadata"]["resourceVersion"], "42");
    assert_eq!(
        weights(route),
        [[
            ("hermes-stable".to_string(), 50),
            ("hermes-canary".to_string(), 50)
        ]]
    );
    assert_eq!(
        route["spec"]["rules"][0]["matches"],
        http_route(80, 20)["spec"]["rules"][0]["matches"]
    );
    assert!(route["spec"].get("parentRefs").is_none(), "{route}");
    assert_eq!(
        reasons(&bodies[14..19]),
        [
            "ServiceCreated",
            "ServiceCreated",
            "HTTPRouteUpdated",
            "RolloutStepPassed",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert_eq!(
        bodies[16]["note"],
        "Updated HTTPRoute hermes: canary weight 50%"
    );
    let status = &bodies[19]["status"];
    assert_eq!(status["canaryWeight"], 50);
    assert_eq!(status["rollout"]["step"], 1);
    assert_eq!(status["rollout"]["phase"], "Progressing");
}

#[tokio::test]
async fn promotion_sends_every_request_to_the_new_stable_revision() {
    let url = prometheus_answering("0", "0.02").await;
    let steps = json!([50, 100]);
    let old_spec = canary_spec_with(OLD_IMAGE, route_rollout(steps.clone()));
    let new_spec = canary_spec_with(NEW_IMAGE, route_rollout(steps));
    let (stable, canary, service, revision) = cluster_of(old_spec.clone(), new_spec.clone(), 2);
    // The backend Services as the previous reconciles left them.
    let old = desired_of(old_spec);
    let mut stable_svc = serde_json::to_value(build_canary::backend_service(
        &old.service,
        build_canary::stable_service_name(NAME),
        build_canary::stable_selector(NAME, &old.revision),
    ))
    .expect("json");
    stable_svc["metadata"]["resourceVersion"] = json!("8");
    let mut canary_svc = serde_json::to_value(build_canary::backend_service(
        &old.service,
        build_canary::name(NAME),
        build_canary::canary_selector(NAME),
    ))
    .expect("json");
    canary_svc["metadata"]["resourceVersion"] = json!("8");
    let resource = hd(new_spec, Some(rollout_status(&revision, 1, 100, 0)));
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable.clone()),
        ),
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary),
        ),
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::AppliedGeneration {
                resource_version: "6",
                generation: 2,
            },
        ),
        step(
            "DELETE",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"})),
        ),
        // <name>-stable now selects the promoted revision ...
        step(
            "GET",
            format!("{SERVICES}/hermes-stable"),
            Reply::Object(stable_svc),
        ),
        step("PATCH", format!("{SERVICES}/hermes-stable"), applied("9")),
        step(
            "GET",
            format!("{SERVICES}/hermes-canary"),
            Reply::Object(canary_svc),
        ),
        step("PATCH", format!("{SERVICES}/hermes-canary"), applied("8")),
        // ... and takes every request.
        step(
            "GET",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(0, 100)),
        ),
        step(
            "PATCH",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(100, 0)),
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, with_prometheus(url)).await;
    assert!(result.is_ok(), "{result:?}");

    assert_eq!(
        bodies[3]["spec"]["template"]["spec"]["containers"][0]["image"],
        NEW_IMAGE
    );
    assert_eq!(
        bodies[6]["spec"]["selector"]["hermes.logos.dev/revision"],
        revision.as_str(),
        "the stable backend follows the promotion"
    );
    assert_eq!(
        weights(&bodies[10]),
        [[
            ("hermes-stable".to_string(), 100),
            ("hermes-canary".to_string(), 0)
        ]]
    );
    assert_eq!(
        reasons(&bodies[15..21]),
        [
            "DeploymentUpdated",
            "DeploymentDeleted",
            "ServiceUpdated",
            "HTTPRouteUpdated",
            "RolloutPromoted",
            "PodDisruptionBudgetCreated"
        ]
    );
    let status = &bodies[21]["status"];
    assert_eq!(status["stableRevision"], revision.as_str());
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["rollout"]["phase"], "Stable");
    assert_eq!(rollouts(&ctx, "promoted"), 1);
}

#[tokio::test]
async fn rollback_sends_every_request_back_to_the_stable_revision() {
    let url = prometheus_answering("0.2", "0.02").await;
    let steps = json!([50, 100]);
    let old_spec = canary_spec_with(OLD_IMAGE, route_rollout(steps.clone()));
    let new_spec = canary_spec_with(NEW_IMAGE, route_rollout(steps));
    let (stable, canary, service, revision) = cluster_of(old_spec.clone(), new_spec.clone(), 1);
    let old = desired_of(old_spec);
    let backend = |name: String, selector| {
        let mut s =
            serde_json::to_value(build_canary::backend_service(&old.service, name, selector))
                .expect("json");
        s["metadata"]["resourceVersion"] = json!("8");
        s
    };
    let stable_svc = backend(
        build_canary::stable_service_name(NAME),
        build_canary::stable_selector(NAME, &old.revision),
    );
    let canary_svc = backend(
        build_canary::name(NAME),
        build_canary::canary_selector(NAME),
    );
    // One failure already counted; this analysis is the second.
    let resource = hd(new_spec, Some(rollout_status(&revision, 0, 50, 1)));
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable),
        ),
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary.clone()),
        ),
        // The canary to 0 pods; no write to the stable.
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::AppliedGeneration {
                resource_version: "6",
                generation: 2,
            },
        ),
        step(
            "GET",
            format!("{SERVICES}/hermes-stable"),
            Reply::Object(stable_svc),
        ),
        step("PATCH", format!("{SERVICES}/hermes-stable"), applied("8")),
        step(
            "GET",
            format!("{SERVICES}/hermes-canary"),
            Reply::Object(canary_svc),
        ),
        step("PATCH", format!("{SERVICES}/hermes-canary"), applied("8")),
        step(
            "GET",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(50, 50)),
        ),
        step(
            "PATCH",
            format!("{HTTPROUTES}/hermes"),
            Reply::Object(http_route(100, 0)),
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, with_prometheus(url)).await;
    assert!(result.is_ok(), "{result:?}");

    assert_eq!(bodies[3]["spec"]["replicas"], 0, "canary scaled down");
    assert_eq!(
        bodies[5]["spec"]["selector"]["hermes.logos.dev/revision"],
        old_revision().as_str(),
        "the stable backend stays on the stable revision"
    );
    assert_eq!(
        weights(&bodies[9]),
        [[
            ("hermes-stable".to_string(), 100),
            ("hermes-canary".to_string(), 0)
        ]]
    );
    assert_eq!(
        reasons(&bodies[14..19]),
        [
            "AnalysisFailed",
            "DeploymentUpdated",
            "HTTPRouteUpdated",
            "RolledBack",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert_eq!(
        bodies[16]["note"],
        "Updated HTTPRoute hermes: canary weight 0%"
    );
    let status = &bodies[19]["status"];
    assert_eq!(status["phase"], "RolledBack");
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["stableRevision"], old_revision().as_str());
    assert_eq!(rollouts(&ctx, "rolled_back"), 1);
}
