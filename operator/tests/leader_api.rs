//! Leader election against a scripted API server: the Lease requests of acquiring,
//! renewing, standing by and losing a race.

use hermes_operator::leader::{Elector, Timing};
use http::{Request, Response};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use std::time::Duration;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases/hermes-operator-leader";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases";

/// Answers each expected (method, path) with (code, body); returns the request bodies.
async fn serve(
    mut handle: Handle,
    script: Vec<(&'static str, &'static str, u16, Value)>,
) -> Vec<Value> {
    let mut bodies = Vec::new();
    for (method, path, code, reply) in script {
        let (request, send) = handle.next_request().await.expect("a request");
        assert_eq!(request.method().as_str(), method);
        assert_eq!(request.uri().path(), path);
        let bytes = request.into_body().collect_bytes().await.expect("body");
        bodies.push(if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("json")
        });
        send.send_response(
            Response::builder()
                .status(code)
                .body(Body::from(serde_json::to_vec(&reply).expect("json")))
                .expect("response"),
        );
    }
    bodies
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": reason})
}

fn lease(holder: &str, renewed: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "hermes-operator-leader", "namespace": "ops", "resourceVersion": "41"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed,
                 "acquireTime": "2026-11-29T08:00:00.000000Z", "leaseTransitions": 2}
    })
}

async fn round(
    script: Vec<(&'static str, &'static str, u16, Value)>,
    now: &str,
) -> (bool, Vec<Value>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(serve(handle, script));
    let elector = Elector::new(
        Client::new(service, "ops"),
        "ops",
        "hermes-operator-leader",
        "operator-a",
        Timing::default(),
    );
    let now: Timestamp = now.parse().expect("time");
    let leads = tokio::time::timeout(Duration::from_secs(10), elector.try_acquire_or_renew(now))
        .await
        .expect("bounded")
        .expect("no API error");
    let bodies = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("all requests made")
        .expect("verifier");
    (leads, bodies)
}

#[tokio::test]
async fn acquires_a_missing_lease_by_creating_it() {
    let created = lease("operator-a", "2026-11-29T08:00:10.000000Z");
    let (leads, bodies) = round(
        vec![
            ("GET", LEASE, 404, status(404, "NotFound")),
            ("POST", LEASES, 201, created),
        ],
        "2026-11-29T08:00:10Z",
    )
    .await;
    assert!(leads);
    let spec = &bodies[1]["spec"];
    assert_eq!(bodies[1]["metadata"]["name"], "hermes-operator-leader");
    assert_eq!(spec["holderIdentity"], "operator-a");
    assert_eq!(spec["leaseDurationSeconds"], 15);
    assert_eq!(spec["leaseTransitions"], 0);
    assert!(
        spec["renewTime"]
            .as_str()
            .unwrap_or("")
            .starts_with("2026-11-29T08:00:10"),
        "{spec}"
    );
}

#[tokio::test]
async fn renews_its_own_lease_with_optimistic_concurrency() {
    let mine = lease("operator-a", "2026-11-29T08:00:05.000000Z");
    let (leads, bodies) = round(
        vec![("GET", LEASE, 200, mine.clone()), ("PUT", LEASE, 200, mine)],
        "2026-11-29T08:00:07Z",
    )
    .await;
    assert!(leads);
    assert_eq!(
        bodies[1]["metadata"]["resourceVersion"], "41",
        "replace carries the version it read"
    );
    assert!(
        bodies[1]["spec"]["renewTime"]
            .as_str()
            .unwrap_or("")
            .starts_with("2026-11-29T08:00:07")
    );
    assert_eq!(
        bodies[1]["spec"]["leaseTransitions"], 2,
        "a renewal is no transition"
    );
}

#[tokio::test]
async fn stands_by_while_another_holder_is_live() {
    let theirs = lease("operator-b", "2026-11-29T08:00:05.000000Z");
    let (leads, bodies) = round(vec![("GET", LEASE, 200, theirs)], "2026-11-29T08:00:10Z").await;
    assert!(!leads);
    assert_eq!(bodies.len(), 1, "no write");
}

#[tokio::test]
async fn takes_over_an_expired_lease_and_a_lost_race_is_not_an_error() {
    let theirs = lease("operator-b", "2026-11-29T08:00:00.000000Z");
    let (leads, bodies) = round(
        vec![
            ("GET", LEASE, 200, theirs.clone()),
            ("PUT", LEASE, 200, theirs.clone()),
        ],
        "2026-11-29T08:00:30Z",
    )
    .await;
    assert!(leads);
    assert_eq!(bodies[1]["spec"]["holderIdentity"], "operator-a");
    assert_eq!(bodies[1]["spec"]["leaseTransitions"], 3);
    assert!(
        bodies[1]["spec"]["acquireTime"]
            .as_str()
            .unwrap_or("")
            .starts_with("2026-11-29T08:00:30")
    );

    let (leads, _) = round(
        vec![
            ("GET", LEASE, 200, theirs),
            ("PUT", LEASE, 409, status(409, "Conflict")),
        ],
        "2026-11-29T08:00:30Z",
    )
    .await;
    assert!(!leads, "another candidate won the race");
}
