//! API scenarios of the canary's HTTP gates (`rollout.canary.webhooks`): each gate type
//! against a real HTTP server on 127.0.0.1 that passes (200), refuses (403) or never
//! answers in time, with every Kubernetes request of the reconcile asserted in order
//! (tower-test) and the JSON body the gate received.

mod common;

use axum::extract::State;
use common::canary::*;
use common::*;
use hermes_operator::crd::HermesDeployment;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the gate answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Gate {
    Pass,
    Refuse,
    Hang,
}

impl Gate {
    fn path(self) -> &'static str {
        match self {
            Gate::Pass => "/pass",
            Gate::Refuse => "/refuse",
            Gate::Hang => "/hang",
        }
    }
}

type Received = Arc<Mutex<Vec<Value>>>;

/// A gate server: `/pass` answers 200 `ok`, `/refuse` 403 with a reason, `/hang` nothing
/// for a minute. Returns its base URL and the bodies it received.
async fn gate_server() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = |State(r): State<Received>, axum::Json(body): axum::Json<Value>| async move {
        if let Ok(mut r) = r.lock() {
            r.push(body);
        }
    };
    let app = axum::Router::new()
        .route(
            "/pass",
            axum::routing::post(move |s: State<Received>, b: axum::Json<Value>| async move {
                keep(s, b).await;
                (axum::http::StatusCode::OK, "ok")
            }),
        )
        .route(
            "/refuse",
            axum::routing::post(move |s: State<Received>, b: axum::Json<Value>| async move {
                keep(s, b).await;
                (
                    axum::http::StatusCode::FORBIDDEN,
                    "change freeze until monday",
                )
            }),
        )
        .route(
            "/hang",
            axum::routing::post(move |s: State<Received>, b: axum::Json<Value>| async move {
                keep(s, b).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                (axum::http::StatusCode::OK, "too late")
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

/// `canary_spec` (steps 50, 100) with one gate.
fn gated_spec(image: &str, name: &str, type_: &str, url: &str) -> Value {
    canary_spec_with(
        image,
        json!({"canary": {
            "steps": [50, 100], "interval": "1m", "failureLimit": 2,
            "webhooks": [{"name": name, "type": type_, "url": url, "timeout": "1s",
                          "metadata": {"ticket": "CHG-7"}}],
        }}),
    )
}

/// The stable, canary (`canary_replicas`), Service and new revision of a gated rollout.
fn gated_cluster(name: &str, type_: &str, url: &str, canary_replicas: i32) -> Cluster {
    let (stable, canary, service, revision) = cluster_of(
        gated_spec(OLD_IMAGE, name, type_, url),
        gated_spec(NEW_IMAGE, name, type_, url),
        canary_replicas,
    );
    Cluster {
        stable,
        canary,
        service,
        revision,
    }
}

struct Cluster {
    stable: Value,
    canary: Value,
    service: Value,
    revision: String,
}

fn applied(resource_version: &'static str) -> Reply {
    Reply::Applied {
        resource_version,
        status: None,
    }
}

fn changed() -> Reply {
    Reply::AppliedGeneration {
        resource_version: "6",
        generation: 2,
    }
}

/// The requests of a reconcile that applies the canary (`canary_write`), the Service and
/// the PodDisruptionBudget, publishes `events` Events and writes the status; `analysed`:
/// the canary is read once more first, for an analysis.
fn script(c: &Cluster, analysed: bool, canary_write: Reply, events: usize) -> Vec<Step> {
    let mut steps = vec![step(
        "GET",
        format!("{DEPLOYMENTS}/hermes"),
        Reply::Object(c.stable.clone()),
    )];
    if analysed {
        steps.push(step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(c.canary.clone()),
        ));
    }
    steps.extend([
        step(
            "GET",
            format!("{DEPLOYMENTS}/hermes-canary"),
            Reply::Object(c.canary.clone()),
        ),
        step(
            "PATCH",
            format!("{DEPLOYMENTS}/hermes-canary"),
            canary_write,
        ),
        step(
            "GET",
            format!("{SERVICES}/hermes"),
            Reply::Object(c.service.clone()),
        ),
        step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
        step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
        step("PATCH", format!("{PDBS}/hermes"), applied("1")),
    ]);
    for _ in 0..events {
        steps.push(step("POST", EVENTS, Reply::Object(json!({}))));
    }
    steps.push(step("PATCH", HD_STATUS, Reply::Status));
    steps
}

fn received(r: &Received) -> Vec<Value> {
    r.lock().map(|r| r.clone()).unwrap_or_default()
}

fn note(event: &Value) -> &str {
    event["note"].as_str().unwrap_or_default()
}

fn gated(spec: Value, status: Value) -> HermesDeployment {
    hd(spec, Some(status))
}

#[tokio::test]
async fn pre_rollout_gate_holds_the_canary_without_traffic_until_it_answers_2xx() {
    let (base, got) = gate_server().await;
    for gate in [Gate::Pass, Gate::Refuse, Gate::Hang] {
        let url = format!("{base}{}", gate.path());
        let c = gated_cluster("smoke", "pre-rollout", &url, 0);
        // Started at step 0 (50 %), waiting for its gate: no canary pods yet.
        let mut status = rollout_status(&c.revision, 0, 50, 0);
        status["canaryWeight"] = json!(0);
        status["rollout"]["awaitingPreRollout"] = json!(true);
        let resource = gated(gated_spec(NEW_IMAGE, "smoke", "pre-rollout", &url), status);
        let before = received(&got).len();
        let steps = if gate == Gate::Pass {
            script(&c, false, changed(), 3)
        } else {
            script(&c, false, applied("5"), 2)
        };
        let (result, bodies, _) = run_with(resource, steps, context).await;
        assert!(result.is_ok(), "{gate:?}: {result:?}");

        // The gate got the rollout's state, once.
        let sent = received(&got);
        assert_eq!(sent.len(), before + 1, "{gate:?}");
        let body = &sent[before];
        assert_eq!(body["name"], NAME);
        assert_eq!(body["namespace"], NS);
        assert_eq!(body["type"], "pre-rollout");
        assert_eq!(body["gate"], "smoke");
        assert_eq!(body["phase"], "Progressing");
        assert_eq!(body["weight"], 0, "no traffic while it waits");
        assert_eq!(body["canaryRevision"], c.revision.as_str());
        assert_eq!(body["stableRevision"], old_revision().as_str());
        assert_eq!(body["metadata"], json!({"ticket": "CHG-7"}));

        let status = &bodies.last().expect("status")["status"];
        let record = &status["rollout"]["gates"][0];
        assert_eq!(record["name"], "smoke");
        assert_eq!(record["type"], "pre-rollout");
        assert_eq!(record["revision"], c.revision.as_str());
        match gate {
            Gate::Pass => {
                assert_eq!(bodies[2]["spec"]["replicas"], 1, "the canary comes up");
                assert_eq!(
                    reasons(&bodies[7..10]),
                    [
                        "DeploymentUpdated",
                        "PreRolloutPassed",
                        "PodDisruptionBudgetCreated"
                    ]
                );
                assert_eq!(status["canaryWeight"], 50);
                assert!(status["rollout"].get("awaitingPreRollout").is_none());
                assert_eq!(record["result"], "Passed");
                assert_eq!(record["message"], "HTTP 200: ok");
                assert_eq!(
                    condition(&bodies[10], "Progressing")["reason"],
                    "CanaryAnalysis"
                );
            }
            Gate::Refuse | Gate::Hang => {
                let why = if gate == Gate::Refuse {
                    "HTTP 403: change freeze until monday"
                } else {
                    "no answer within 1s"
                };
                assert_eq!(
                    bodies[2]["spec"]["replicas"], 0,
                    "{gate:?}: no pods, no traffic"
                );
                assert_eq!(
                    reasons(&bodies[7..9]),
                    ["PreRolloutGateFailed", "PodDisruptionBudgetCreated"]
                );
                assert_eq!(bodies[7]["type"], "Warning");
                assert_eq!(
                    note(&bodies[7]),
                    format!(
                        "pre-rollout gate smoke failed: {why}; canary revision {} waits without traffic",
                        c.revision
                    )
                );
                assert_eq!(status["canaryWeight"], 0);
                assert_eq!(status["rollout"]["awaitingPreRollout"], true);
                assert_eq!(status["rollout"]["consecutiveFailures"], 1);
                assert_eq!(
                    status["rollout"]["lastFailure"],
                    format!("pre-rollout gate smoke failed: {why}")
                );
                assert_eq!(
                    record["result"],
                    if gate == Gate::Refuse {
                        "Refused"
                    } else {
                        "TimedOut"
                    }
                );
                let progressing = condition(&bodies[9], "Progressing");
                assert_eq!(progressing["reason"], "CanaryGate");
                assert!(
                    progressing["message"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with(&format!(
                            "waiting for pre-rollout gate smoke ({why}), no traffic yet"
                        )),
                    "{progressing}"
                );
            }
        }
    }
}

#[tokio::test]
async fn confirm_promotion_gate_holds_a_passed_canary_at_its_last_step_until_it_answers_2xx() {
    let prometheus = prometheus_answering("0", "0.02").await;
    let (base, got) = gate_server().await;
    for gate in [Gate::Pass, Gate::Refuse, Gate::Hang] {
        let url = format!("{base}{}", gate.path());
        let c = gated_cluster("cab", "confirm-promotion", &url, 2);
        // At the last step (100 %); this analysis passes.
        let resource = gated(
            gated_spec(NEW_IMAGE, "cab", "confirm-promotion", &url),
            rollout_status(&c.revision, 1, 100, 0),
        );
        let steps = if gate == Gate::Pass {
            vec![
                step(
                    "GET",
                    format!("{DEPLOYMENTS}/hermes"),
                    Reply::Object(c.stable.clone()),
                ),
                step(
                    "GET",
                    format!("{DEPLOYMENTS}/hermes-canary"),
                    Reply::Object(c.canary.clone()),
                ),
                step(
                    "GET",
                    format!("{DEPLOYMENTS}/hermes"),
                    Reply::Object(c.stable.clone()),
                ),
                step("PATCH", format!("{DEPLOYMENTS}/hermes"), changed()),
                step(
                    "DELETE",
                    format!("{DEPLOYMENTS}/hermes-canary"),
                    Reply::Object(
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                    ),
                ),
                step(
                    "GET",
                    format!("{SERVICES}/hermes"),
                    Reply::Object(c.service.clone()),
                ),
                step("PATCH", format!("{SERVICES}/hermes"), applied("7")),
                step("GET", format!("{PDBS}/hermes"), Reply::NotFound),
                step("PATCH", format!("{PDBS}/hermes"), applied("1")),
                step("POST", EVENTS, Reply::Object(json!({}))),
                step("POST", EVENTS, Reply::Object(json!({}))),
                step("POST", EVENTS, Reply::Object(json!({}))),
                step("POST", EVENTS, Reply::Object(json!({}))),
                step("POST", EVENTS, Reply::Object(json!({}))),
                step("PATCH", HD_STATUS, Reply::Status),
            ]
        } else {
            script(&c, true, applied("5"), 2)
        };
        let before = received(&got).len();
        let (result, bodies, ctx) =
            run_with(resource, steps, with_prometheus(prometheus.clone())).await;
        assert!(result.is_ok(), "{gate:?}: {result:?}");
        let sent = received(&got);
        assert_eq!(sent.len(), before + 1, "{gate:?}");
        assert_eq!(sent[before]["type"], "confirm-promotion");
        assert_eq!(sent[before]["step"], 1);
        assert_eq!(sent[before]["weight"], 100);

        let status = &bodies.last().expect("status")["status"];
        match gate {
            Gate::Pass => {
                assert_eq!(
                    reasons(&bodies[9..14]),
                    [
                        "PromotionConfirmed",
                        "DeploymentUpdated",
                        "DeploymentDeleted",
                        "RolloutPromoted",
                        "PodDisruptionBudgetCreated"
                    ]
                );
                assert_eq!(
                    note(&bodies[9]),
                    format!(
                        "confirm-promotion gate cab passed for revision {}",
                        c.revision
                    )
                );
                assert_eq!(status["rollout"]["phase"], "Stable");
                assert_eq!(status["stableRevision"], c.revision.as_str());
                assert_eq!(rollouts(&ctx, "promoted"), 1);
            }
            Gate::Refuse | Gate::Hang => {
                let why = if gate == Gate::Refuse {
                    "HTTP 403: change freeze until monday"
                } else {
                    "no answer within 1s"
                };
                assert_eq!(
                    bodies[3]["spec"]["replicas"], 2,
                    "the canary stays as it runs"
                );
                assert_eq!(
                    reasons(&bodies[8..10]),
                    ["PromotionWaiting", "PodDisruptionBudgetCreated"]
                );
                assert_eq!(
                    note(&bodies[8]),
                    format!(
                        "promotion of revision {} waits for confirm-promotion gate cab: {why}",
                        c.revision
                    )
                );
                assert_eq!(status["rollout"]["phase"], "Progressing");
                assert_eq!(status["rollout"]["step"], 1);
                assert_eq!(status["rollout"]["lastAnalysis"]["result"], "Passed");
                assert_eq!(status["stableRevision"], old_revision().as_str());
                let progressing = condition(&bodies[10], "Progressing");
                assert_eq!(progressing["reason"], "CanaryGate");
                assert!(
                    progressing["message"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with(&format!("waiting for confirm-promotion gate cab ({why})")),
                    "{progressing}"
                );
                assert_eq!(rollouts(&ctx, "promoted"), 0);
            }
        }
    }
}

#[tokio::test]
async fn rollback_gate_answering_2xx_rolls_back_a_paused_canary_and_nothing_else_does() {
    let (base, got) = gate_server().await;
    for gate in [Gate::Pass, Gate::Refuse, Gate::Hang] {
        let url = format!("{base}{}", gate.path());
        let c = gated_cluster("stop", "rollback", &url, 1);
        let mut status = rollout_status(&c.revision, 0, 50, 0);
        status["rollout"]["phase"] = json!("Paused");
        let resource = gated(gated_spec(NEW_IMAGE, "stop", "rollback", &url), status);
        let steps = match gate {
            Gate::Pass => script(&c, false, changed(), 3),
            Gate::Refuse => script(&c, false, applied("5"), 1),
            Gate::Hang => script(&c, false, applied("5"), 2),
        };
        let before = received(&got).len();
        let (result, bodies, ctx) = run_with(resource, steps, context).await;
        assert!(result.is_ok(), "{gate:?}: {result:?}");
        let sent = received(&got);
        assert_eq!(sent.len(), before + 1, "{gate:?}");
        assert_eq!(sent[before]["type"], "rollback");
        assert_eq!(sent[before]["phase"], "Paused");

        let status = &bodies.last().expect("status")["status"];
        let record = &status["rollout"]["gates"][0];
        match gate {
            Gate::Pass => {
                assert_eq!(bodies[2]["spec"]["replicas"], 0, "canary scaled down");
                assert_eq!(
                    reasons(&bodies[7..10]),
                    [
                        "DeploymentUpdated",
                        "RolledBack",
                        "PodDisruptionBudgetCreated"
                    ]
                );
                assert_eq!(
                    note(&bodies[8]),
                    "rollback gate stop asked for a rollback (HTTP 200: ok)"
                );
                assert_eq!(status["rollout"]["phase"], "RolledBack");
                assert_eq!(condition(&bodies[10], "RolledBack")["status"], "True");
                assert_eq!(record["result"], "Passed");
                assert_eq!(rollouts(&ctx, "rolled_back"), 1);
            }
            Gate::Refuse => {
                assert_eq!(bodies[2]["spec"]["replicas"], 1);
                assert_eq!(reasons(&bodies[7..8]), ["PodDisruptionBudgetCreated"]);
                assert_eq!(status["rollout"]["phase"], "Paused");
                assert_eq!(record["result"], "Refused");
                assert_eq!(rollouts(&ctx, "rolled_back"), 0);
            }
            Gate::Hang => {
                assert_eq!(
                    reasons(&bodies[7..9]),
                    ["RollbackGateUnanswered", "PodDisruptionBudgetCreated"]
                );
                assert_eq!(
                    note(&bodies[7]),
                    "rollback gate stop could not be asked (no answer within 1s); the canary goes on"
                );
                assert_eq!(status["rollout"]["phase"], "Paused");
                assert_eq!(record["result"], "TimedOut");
                assert_eq!(rollouts(&ctx, "rolled_back"), 0);
            }
        }
    }
}
