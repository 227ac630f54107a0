//! API scenarios of a canary promote and a canary rollback (tower-test, every request's
//! method, path and body asserted in order). The analysis queries a small stand-in for
//! Prometheus's query API on 127.0.0.1 that answers a fixed value per kind of query (the
//! real Prometheus is exercised by the `tests/` crate); these scenarios are about which
//! Kubernetes calls a decision makes.

mod common;

use common::canary::*;
use common::*;
use kube::runtime::controller::Action;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn last_step_passing_promotes_the_canary_template_to_the_stable_and_removes_the_canary() {
    let url = prometheus_answering("0", "0.02").await;
    let (stable, canary, service, revision) = cluster(2);
    let resource = hd(
        canary_spec(NEW_IMAGE),
        Some(rollout_status(&revision, 1, 100, 0)),
    );
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
        // promotion: the stable takes the new template ...
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
        // ... and the canary goes.
        step(
            "DELETE",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"})),
        ),
        step("GET", format!("{SERVICES}/hermes"), Reply::Object(service)),
        step(
            "PATCH",
            format!("{SERVICES}/hermes"),
            Reply::Applied {
                resource_version: "7",
                status: None,
            },
        ),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step(
            "PATCH",
            format!("{PDBS}/hermes"),
            Reply::Applied {
                resource_version: "1",
                status: None,
            },
        ),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, with_prometheus(url)).await;
    assert!(result.is_ok(), "{result:?}");

    let promoted = &bodies[3];
    assert_eq!(promoted["metadata"]["name"], NAME);
    assert_eq!(
        promoted["spec"]["template"]["spec"]["containers"][0]["image"],
        NEW_IMAGE
    );
    assert_eq!(promoted["spec"]["replicas"], 2);
    assert_eq!(revision_of(promoted), revision);
    assert_eq!(
        reasons(&bodies[9..13]),
        [
            "DeploymentUpdated",
            "DeploymentDeleted",
            "RolloutPromoted",
            "PodDisruptionBudgetCreated"
        ]
    );
    assert!(
        bodies[11]["note"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!(
                "promoting revision {revision}: every analysis step passed"
            )),
        "{}",
        bodies[11]
    );
    let status = &bodies[13]["status"];
    assert_eq!(status["stableRevision"], revision.as_str());
    assert!(status.get("canaryRevision").is_none(), "{status}");
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["rollout"]["phase"], "Stable");
    assert_eq!(status["rollout"]["stableRevision"], revision.as_str());
    let analysis = &status["rollout"]["lastAnalysis"];
    assert_eq!(analysis["result"], "Passed");
    assert_eq!(analysis["revision"], revision.as_str());
    assert_eq!(analysis["checks"][0]["name"], "error-rate /embed_text");
    assert_eq!(analysis["checks"][0]["value"], 0.0);
    assert_eq!(analysis["checks"][0]["max"], 0.05);
    assert_eq!(analysis["checks"][1]["name"], "latency-p95 /embed_text");
    assert_eq!(analysis["checks"][1]["result"], "pass");
    assert_eq!(condition(&bodies[13], "RolledBack")["status"], "False");
    assert_eq!(rollouts(&ctx, "promoted"), 1);
}

#[tokio::test]
async fn failure_limit_reached_rolls_back_leaving_the_stable_untouched() {
    let url = prometheus_answering("0.2", "0.02").await;
    let (stable, canary, service, revision) = cluster(1);
    // One failure already counted; this analysis is the second.
    let resource = hd(
        canary_spec(NEW_IMAGE),
        Some(rollout_status(&revision, 0, 50, 1)),
    );
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
        // rollback: the canary to 0 pods; no write to the stable at all
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
        step(
            "PATCH",
            format!("{SERVICES}/hermes"),
            Reply::Applied {
                resource_version: "7",
                status: None,
            },
        ),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step(
            "PATCH",
            format!("{PDBS}/hermes"),
            Reply::Applied {
                resource_version: "1",
                status: None,
            },
        ),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("POST", EVENTS, Reply::Object(json!({}))),
        step("PATCH", HD_STATUS, Reply::Status),
    ];
    let (result, bodies, ctx) = run_with(resource, steps, with_prometheus(url)).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        result,
        Ok(Action::requeue(Duration::from_secs(300))),
        "nothing to analyse after a rollback: the slow resync"
    );

    let scaled = &bodies[3];
    assert_eq!(scaled["metadata"]["name"], "hermes-canary");
    assert_eq!(scaled["spec"]["replicas"], 0, "canary scaled down");
    assert_eq!(
        reasons(&bodies[8..12]),
        [
            "AnalysisFailed",
            "DeploymentUpdated",
            "RolledBack",
            "PodDisruptionBudgetCreated"
        ]
    );
    let rolled_back = &bodies[10];
    assert_eq!(rolled_back["type"], "Warning");
    assert_eq!(
        rolled_back["note"],
        "check error-rate /embed_text failed: value 0.2 against threshold 0.05 (2 consecutive failures)"
    );
    let status = &bodies[12]["status"];
    assert_eq!(status["phase"], "RolledBack");
    assert_eq!(status["stableRevision"], old_revision().as_str());
    assert_eq!(status["canaryRevision"], revision.as_str());
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["rollout"]["phase"], "RolledBack");
    let rb = condition(&bodies[12], "RolledBack");
    assert_eq!(rb["status"], "True");
    assert_eq!(rb["reason"], "AnalysisFailed");
    assert_eq!(rolled_back["note"], rb["message"]);
    let check = &status["rollout"]["lastAnalysis"]["checks"][0];
    assert_eq!(check["name"], "error-rate /embed_text");
    assert_eq!(check["result"], "fail");
    assert_eq!(check["value"], 0.2);
    assert_eq!(check["max"], 0.05);
    assert_eq!(rollouts(&ctx, "rolled_back"), 1);
    assert_eq!(rollouts(&ctx, "promoted"), 0);
}
