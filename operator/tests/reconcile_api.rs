//! API scenarios of one reconcile against a scripted API server (tower-test, in the style
//! of kube-rs controller-rs's ApiServerVerifier): every request's method, path, query and
//! body is asserted, in order, and a request the script does not expect fails the test
//! (the reconcile then waits for an answer that never comes and times out).

mod common;

use common::*;
use hermes_operator::reconcile::{error_policy, reconcile};
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn first_creation_applies_every_object_then_reports_status() {
    let resource = hd(spec(2, "hermes-runtime:1"), None);
    let applied = |rv| Reply::Applied {
        resource_version: rv,
        status: None,
    };
    let steps = vec![
        step("GET", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{DEPLOYMENTS}/hermes"), applied("1")),
        step("GET", format!("{SERVICES}/hermes"), Reply::NotFound),
        step("PATCH", format!("{SERVICES}/hermes"), applied("1")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(resource.clone(), steps).await;
    assert_eq!(result, Ok(Action::requeue(Duration::from_secs(30))));

    let (plan, _) = plan_and_desired(&resource);
    let limit = hermes_operator::quantity::format_memory(plan.limit);
    let deployment = &bodies[1];
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "hermes-runtime:1");
    assert_eq!(container["resources"]["limits"]["memory"], limit.as_str());
    assert_eq!(container["resources"]["requests"]["memory"], limit.as_str());
    let owner = &deployment["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "HermesDeployment");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["uid"], "5f0c1d2e-0000-4000-8000-000000000001");
    let revision = revision_of(deployment);
    assert_eq!(
        deployment["metadata"]["labels"]["hermes.logos.dev/revision"],
        revision.as_str()
    );
    assert_eq!(bodies[3]["kind"], "Service");
    assert_eq!(bodies[5]["kind"], "PodDisruptionBudget");
    assert_eq!(bodies[5]["spec"]["maxUnavailable"], 1);

    let reasons: Vec<&str> = bodies[6..9]
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        reasons,
        [
            "DeploymentCreated",
            "ServiceCreated",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert_eq!(bodies[6]["type"], "Normal");
    assert_eq!(bodies[6]["action"], format!("Apply revision {revision}"));
    assert_eq!(bodies[6]["regarding"]["name"], NAME);
    let note = bodies[6]["note"].as_str().expect("note");
    assert_eq!(
        note,
        format!("Created Deployment hermes: revision {revision}, memory limit {limit}")
    );

    let status = &bodies[9];
    assert_eq!(status["apiVersion"], "hermes.logos.dev/v1alpha1");
    assert_eq!(status["kind"], "HermesDeployment");
    assert_eq!(
        status["status"]["observedGeneration"], 3,
        "the generation the reconcile saw"
    );
    assert_eq!(status["status"]["phase"], "Pending");
    assert_eq!(status["status"]["stableRevision"], revision.as_str());
    assert_eq!(status["status"]["memory"]["limit"], limit.as_str());
    assert_eq!(
        status["status"]["memory"]["models"][1]["name"],
        "whisper-tiny-en"
    );
    assert_eq!(condition(status, "Ready")["status"], "False");
    assert_eq!(condition(status, "Progressing")["status"], "True");
    assert_eq!(condition(status, "InvalidSpec")["status"], "False");
    assert_eq!(condition(status, "Degraded")["status"], "False");
    assert_eq!(condition(status, "Ready")["observedGeneration"], 3);
}

/// The objects of a first apply, as the server would return them.
async fn existing(replicas: i32, image: &str) -> (Value, Value) {
    let resource = hd(spec(replicas, image), None);
    let (_, desired) = plan_and_desired(&resource);
    let mut deployment = serde_json::to_value(&desired.deployment).expect("json");
    deployment["metadata"]["resourceVersion"] = json!("1");
    let mut service = serde_json::to_value(&desired.service).expect("json");
    service["metadata"]["resourceVersion"] = json!("7");
    (deployment, service)
}

#[tokio::test]
async fn template_change_applies_a_new_revision_and_drops_the_pdb() {
    let (old_deployment, old_service) = existing(2, "hermes-runtime:1").await;
    let old_revision = revision_of(&old_deployment);
    let resource = hd(spec(1, "hermes-runtime:2"), None);
    let ready =
        json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1});
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(old_deployment),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Applied {
                resource_version: "2",
                status: Some(ready),
            },
        ),
        step(
            "GET",
            format!("{SERVICES}/hermes"),
            Reply::Object(old_service),
        ),
        // Same Service: the server keeps its resourceVersion, so no Event.
        step(
            "PATCH",
            format!("{SERVICES}/hermes"),
            Reply::Applied {
                resource_version: "7",
                status: None,
            },
        ),
        step(
            "DELETE",
            format!("{PDBS}/hermes"),
            Reply::Object(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"})),
        ),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(resource, steps).await;
    assert_eq!(
        result,
        Ok(Action::requeue(Duration::from_secs(300))),
        "Ready resyncs slowly"
    );

    let new_revision = revision_of(&bodies[1]);
    assert_ne!(new_revision, old_revision, "a new image is a new revision");
    assert_eq!(
        bodies[1]["spec"]["template"]["spec"]["containers"][0]["image"],
        "hermes-runtime:2"
    );
    assert_eq!(bodies[5]["reason"], "DeploymentUpdated");
    assert!(
        bodies[5]["note"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("revision {new_revision}")),
        "{}",
        bodies[5]
    );
    assert_eq!(bodies[6]["reason"], "PodDisruptionBudgetDeleted");
    let status = &bodies[7];
    assert_eq!(status["status"]["phase"], "Ready");
    assert_eq!(status["status"]["stableRevision"], new_revision.as_str());
    assert_eq!(status["status"]["readyReplicas"], 1);
    assert_eq!(condition(status, "Ready")["status"], "True");
}

#[tokio::test]
async fn invalid_spec_writes_status_and_an_event_but_no_workload() {
    let mut bad = spec(1, "hermes-runtime:1");
    bad["models"][0]["name"] = json!("mystery-model");
    let steps = vec![
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(hd(bad, None), steps).await;
    assert_eq!(result, Ok(Action::await_change()));
    assert_eq!(bodies[0]["type"], "Warning");
    assert_eq!(bodies[0]["reason"], "InvalidSpec");
    let status = &bodies[1];
    assert_eq!(status["status"]["phase"], "Invalid");
    assert_eq!(status["status"]["observedGeneration"], 3);
    let invalid = condition(status, "InvalidSpec");
    assert_eq!(invalid["status"], "True");
    let message = invalid["message"].as_str().expect("message");
    assert!(
        message.starts_with("models[0]: unknown model \"mystery-model\""),
        "{message}"
    );
    assert_eq!(condition(status, "Ready")["status"], "False");
}

#[tokio::test]
async fn unchanged_world_makes_no_writes_beyond_the_idempotent_apply() {
    // First pass computes the status; the second reconcile sees it stored and the same
    // objects, so it writes no Event and no status.
    let (deployment, service) = existing(1, "hermes-runtime:1").await;
    let ready =
        json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1});
    let mut deployment_ready = deployment.clone();
    deployment_ready["metadata"]["generation"] = json!(1);
    deployment_ready["status"] = ready.clone();
    let script = |status_patch: bool| {
        let mut s = vec![
            step(
                "GET",
                format!("{DEPLOYMENTS}/hermes"),
                Reply::Object(deployment_ready.clone()),
            ),
            step(
                "PATCH",
                format!("{DEPLOYMENTS}/hermes"),
                Reply::Applied {
                    resource_version: "1",
                    status: Some(ready.clone()),
                },
            ),
            step(
                "GET",
                format!("{SERVICES}/hermes"),
                Reply::Object(service.clone()),
            ),
            step(
                "PATCH",
                format!("{SERVICES}/hermes"),
                Reply::Applied {
                    resource_version: "7",
                    status: None,
                },
            ),
            step("DELETE", format!("{PDBS}/hermes"), Reply::NotFound),
        ];
        if status_patch {
            s.push(step("PATCH", HD_STATUS, Reply::Status));
        }
        s
    };
    let (result, bodies) = run(hd(spec(1, "hermes-runtime:1"), None), script(true)).await;
    assert_eq!(result, Ok(Action::requeue(Duration::from_secs(300))));
    let status = bodies[5]["status"].clone();
    let (result, _) = run(hd(spec(1, "hermes-runtime:1"), Some(status)), script(false)).await;
    assert_eq!(result, Ok(Action::requeue(Duration::from_secs(300))));
}

#[tokio::test]
async fn a_resource_being_deleted_is_left_to_the_garbage_collector() {
    let mut resource = hd(spec(2, "hermes-runtime:1"), None);
    resource.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).expect("time"),
        ));
    let (result, bodies) = run(resource, vec![]).await;
    assert_eq!(result, Ok(Action::await_change()));
    assert!(bodies.is_empty(), "no request at all");
}

#[tokio::test]
async fn apply_failure_is_a_typed_error_and_backs_off() {
    let steps = vec![
        step("GET", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{DEPLOYMENTS}/hermes"), Reply::NotFound),
    ];
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let server = tokio::spawn(serve(handle, steps));
    let ctx = context(client);
    let resource = Arc::new(hd(spec(1, "hermes-runtime:1"), None));
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        reconcile(resource.clone(), ctx.clone()),
    )
    .await
    .expect("bounded")
    .expect_err("apply fails");
    assert_eq!(err.reason(), "apply");
    assert!(
        err.to_string().starts_with("applying Deployment hermes: "),
        "{err}"
    );
    server.await.expect("verifier");
    let first = error_policy(resource.clone(), &err, ctx.clone());
    let second = error_policy(resource, &err, ctx);
    assert_eq!(first, Action::requeue(Duration::from_secs(5)));
    assert_eq!(second, Action::requeue(Duration::from_secs(10)));
}

#[tokio::test]
async fn a_deployment_someone_else_owns_is_left_alone_and_the_status_says_so() {
    let resource = hd(spec(1, "hermes-runtime:1"), None);
    let foreign = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NS, "resourceVersion": "7"},
        "spec": {"selector": {"matchLabels": {"app": "theirs"}}, "template": {}},
    });
    // The GET shows the foreign owner: no PATCH of the Deployment, an Event, a status.
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(foreign),
        ),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies) = run(resource, steps).await;
    let error = result.expect_err("the reconcile fails and is retried with backoff");
    assert!(
        error.contains("Deployment ns/hermes exists and is not owned by HermesDeployment hermes"),
        "{error}"
    );
    assert_eq!(bodies[1]["reason"], "ObjectNotOwned");
    assert_eq!(bodies[1]["type"], "Warning");
    let status = &bodies[2]["status"];
    assert_eq!(status["phase"], "Degraded");
    let degraded = condition(&bodies[2], "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "ObjectNotOwned");
    assert!(
        degraded["message"]
            .as_str()
            .is_some_and(|m| m.contains("refusing to take it over (delete or rename it)")),
        "{degraded}"
    );
    assert_eq!(condition(&bodies[2], "Ready")["status"], "False");
}
