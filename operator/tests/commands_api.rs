//! API scenarios of the manual rollout commands (`hermes.logos.dev/rollout` annotation;
//! tower-test, every request's method, path and body asserted in order): promote now and
//! abort, each carried out once and the annotation removed afterwards.

mod common;

use common::canary::*;
use common::*;
use hermes_operator::crd::HermesDeployment;
use hermes_operator::rollout::command::ANNOTATION;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A resource mid-rollout (canary at 50 %, step 0 of 50/100) carrying the `command`.
fn commanded(command: &str, revision: &str) -> HermesDeployment {
    let mut r = hd(
        canary_spec(NEW_IMAGE),
        Some(rollout_status(revision, 0, 50, 1)),
    );
    r.metadata.annotations = Some(BTreeMap::from([(ANNOTATION.into(), command.into())]));
    r
}

fn applied(resource_version: &'static str) -> Reply {
    Reply::Applied {
        resource_version,
        status: None,
    }
}

/// The merge patch that removes the annotation once the command is carried out.
fn assert_annotation_removed(body: &Value) {
    assert_eq!(
        *body,
        json!({"metadata": {"annotations": {ANNOTATION: null}}}),
        "only the command annotation is removed"
    );
}

#[tokio::test]
async fn promote_now_promotes_without_an_analysis_and_consumes_the_annotation() {
    let (stable, _, service, revision) = cluster(1);
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable.clone()),
        ),
        // No canary read, no query: the stable takes the new template, the canary goes.
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
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
        step(
            "PATCH",
            HD_PATH,
            Reply::Object(serde_json::to_value(hd(canary_spec(NEW_IMAGE), None)).expect("json")),
        ),
    ];
    // No Prometheus at all: a promote-now must not need one.
    let (result, bodies, ctx) = run_with(commanded("promote", &revision), steps, context).await;
    assert!(result.is_ok(), "{result:?}");

    let promoted = &bodies[2];
    assert_eq!(
        promoted["spec"]["template"]["spec"]["containers"][0]["image"],
        NEW_IMAGE
    );
    assert_eq!(promoted["spec"]["replicas"], 2);
    assert_eq!(revision_of(promoted), revision);
    assert_eq!(
        reasons(&bodies[8..12]),
        [
            "DeploymentUpdated",
            "DeploymentDeleted",
            "RolloutPromoted",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert_eq!(
        bodies[10]["note"],
        format!("promoting revision {revision}: promoted by user").as_str()
    );
    let status = &bodies[12]["status"];
    assert_eq!(status["stableRevision"], revision.as_str());
    assert_eq!(status["rollout"]["phase"], "Stable");
    assert_eq!(status["canaryWeight"], 0);
    assert!(
        status["rollout"].get("lastAnalysis").is_none(),
        "no analysis ran: {status}"
    );
    assert_annotation_removed(&bodies[13]);
    assert_eq!(rollouts(&ctx, "promoted"), 1);
}

#[tokio::test]
async fn abort_scales_the_canary_to_zero_leaves_the_stable_and_consumes_the_annotation() {
    let (stable, canary, service, revision) = cluster(1);
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable),
        ),
        // The canary to 0 pods; no write to the stable at all.
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
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
        step(
            "PATCH",
            HD_PATH,
            Reply::Object(serde_json::to_value(hd(canary_spec(NEW_IMAGE), None)).expect("json")),
        ),
    ];
    let (result, bodies, ctx) = run_with(commanded("abort", &revision), steps, context).await;
    assert!(result.is_ok(), "{result:?}");

    let scaled = &bodies[2];
    assert_eq!(scaled["metadata"]["name"], "hermes-canary");
    assert_eq!(scaled["spec"]["replicas"], 0);
    assert_eq!(
        reasons(&bodies[7..10]),
        [
            "DeploymentUpdated",
            "RolloutAborted",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert_eq!(bodies[8]["type"], "Warning");
    assert_eq!(bodies[8]["note"], "aborted by user");
    let status = &bodies[10]["status"];
    assert_eq!(status["phase"], "RolledBack");
    assert_eq!(status["stableRevision"], old_revision().as_str());
    assert_eq!(
        status["canaryRevision"],
        revision.as_str(),
        "kept for retry"
    );
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["rollout"]["phase"], "Aborted");
    let rolled_back = condition(&bodies[10], "RolledBack");
    assert_eq!(rolled_back["status"], "True");
    assert_eq!(rolled_back["reason"], "Aborted");
    assert_eq!(rolled_back["message"], "aborted by user");
    assert_annotation_removed(&bodies[11]);
    assert_eq!(rollouts(&ctx, "aborted"), 1);
    assert_eq!(rollouts(&ctx, "rolled_back"), 0);
}

#[tokio::test]
async fn a_command_that_does_not_apply_gets_a_warning_and_is_recorded_then_consumed() {
    let (stable, canary, service, revision) = cluster(0);
    // Rolled back: `promote` does not apply (the canary needs `retry` first).
    let mut status = rollout_status(&revision, 0, 0, 0);
    status["phase"] = json!("RolledBack");
    status["rollout"]["phase"] = json!("RolledBack");
    status["rollout"]["reason"] = json!("check error-rate /embed_text failed");
    let mut resource = hd(canary_spec(NEW_IMAGE), Some(status));
    resource.metadata.annotations = Some(BTreeMap::from([(ANNOTATION.into(), "promote".into())]));
    let steps = vec![
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes"),
            Reply::Object(stable),
        ),
        // The canary stays at 0 pods; the stable is not written.
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(canary),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes-canary"),
            applied("5"),
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
        step(
            "PATCH",
            HD_PATH,
            Reply::Object(serde_json::to_value(hd(canary_spec(NEW_IMAGE), None)).expect("json")),
        ),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, context).await;
    assert!(result.is_ok(), "{result:?}");

    assert_eq!(bodies[2]["spec"]["replicas"], 0);
    assert_eq!(
        reasons(&bodies[7..9]),
        ["RolloutCommandIgnored", "PodDisruptionBudgetCreated"]
    );
    let ignored = &bodies[7];
    assert_eq!(ignored["type"], "Warning");
    assert_eq!(
        ignored["note"],
        "command \"promote\" does not apply to a rolled back rollout: use `retry` first to restart the canary from its first step"
    );
    let status = &bodies[9]["status"];
    assert_eq!(status["rollout"]["phase"], "RolledBack", "nothing changed");
    let last = &status["rollout"]["lastCommand"];
    assert_eq!(last["command"], "promote");
    assert_eq!(last["outcome"], "Ignored");
    assert_eq!(last["message"], ignored["note"]);
    assert_annotation_removed(&bodies[10]);
    assert_eq!(rollouts(&ctx, "promoted"), 0);
}
