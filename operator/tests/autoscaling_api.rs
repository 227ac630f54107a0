//! API scenarios of `spec.autoscaling` against the scripted API server: the operator
//! applies a HorizontalPodAutoscaler, applies the stable Deployment with the autoscaler's
//! current count (never `spec.replicas`, never a reset), and deletes the autoscaler when
//! autoscaling is turned off.

mod common;

use common::canary::reasons;
use common::*;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use std::time::Duration;

const HPAS: &str = "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers";

fn autoscaled(replicas: i32) -> Value {
    let mut s = spec(replicas, "hermes-runtime:1");
    s["autoscaling"] = json!({"minReplicas": 2, "maxReplicas": 6, "targetInFlightPerPod": 4});
    s
}

fn applied(rv: &'static str) -> Reply {
    Reply::Applied {
        resource_version: rv,
        status: None,
    }
}

#[tokio::test]
async fn a_new_autoscaled_resource_starts_at_min_replicas_with_its_autoscaler() {
    let steps = vec![
        // Observed first: there is no stable yet.
        step("GET", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
        step("GET", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{DEPLOYMENTS}/hermes"), applied("1")),
        step("GET", format!("{SERVICES}/hermes"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes"), applied("1")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("GET", format!("{HPAS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{HPAS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    // spec.replicas 1 is ignored: the autoscaler's minimum is where it starts.
    let (result, bodies) = run(hd(autoscaled(1), None), steps).await;
    assert_eq!(result, Ok(Action::requeue(Duration::from_secs(30))));
    assert_eq!(bodies[2]["spec"]["replicas"], 2);
    let hpa = &bodies[8];
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["kind"], "HorizontalPodAutoscaler");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "hermes"})
    );
    assert_eq!(
        (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
        (&json!(2), &json!(6))
    );
    assert_eq!(
        hpa["metadata"]["ownerReferences"][0]["kind"],
        "HermesDeployment"
    );
    assert_eq!(
        reasons(&bodies[9..13]),
        [
            "DeploymentCreated",
            "ServiceCreated",
            "PodDisruptionBudgetCreated",
            "HorizontalPodAutoscalerCreated"
        ]
    );
    assert_eq!(bodies[13]["status"]["autoscaler"], "hermes");
}

#[tokio::test]
async fn the_autoscalers_count_is_applied_as_it_is() {
    let resource = hd(autoscaled(1), None);
    let (_, desired) = plan_and_desired(&resource);
    let mut scaled = serde_json::to_value(&desired.deployment).expect("json");
    scaled["metadata"]["resourceVersion"] = json!("9");
    scaled["metadata"]["generation"] = json!(4);
    // The HPA scaled the stable to 5.
    scaled["spec"]["replicas"] = json!(5);
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(scaled.clone()),
        ),
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(scaled),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::AppliedGeneration {
                resource_version: "9",
                generation: 4,
            },
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes"), applied("1")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("GET", format!("{HPAS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{HPAS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(resource, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        bodies[2]["spec"]["replicas"], 5,
        "the autoscaler's count, not spec.replicas (1) nor minReplicas (2)"
    );
    assert_eq!(
        reasons(&bodies[9..12]),
        [
            "ServiceCreated",
            "PodDisruptionBudgetCreated",
            "HorizontalPodAutoscalerCreated"
        ],
        "the Deployment did not change"
    );
}

#[tokio::test]
async fn turning_autoscaling_off_deletes_the_autoscaler_and_applies_spec_replicas() {
    let status = json!({"autoscaler": "hermes", "stableRevision": "x"});
    let steps = vec![
        step("GET", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{DEPLOYMENTS}/hermes"), applied("1")),
        step("GET", format!("{SERVICES}/hermes"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes"), applied("1")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step(
            "DELETE",
            format!("{HPAS}/hermes"),
            Reply::Object(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"})),
        ),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(hd(spec(3, "hermes-runtime:1"), Some(status)), steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(bodies[1]["spec"]["replicas"], 3);
    assert_eq!(
        reasons(&bodies[7..11]).last().map(String::as_str),
        Some("HorizontalPodAutoscalerDeleted")
    );
    assert!(
        bodies[11]["status"]["autoscaler"].is_null(),
        "{}",
        bodies[11]
    );
}
