//! The scripted API server of the tower-test scenarios (in the style of kube-rs
//! controller-rs's ApiServerVerifier) and the resources they reconcile.

#![allow(dead_code)]

pub mod canary;

use hermes_operator::build::Desired;
use hermes_operator::catalog::Catalog;
use hermes_operator::context::Context;
use hermes_operator::crd::HermesDeployment;
use hermes_operator::events::{recorder, reporter};
use hermes_operator::metrics::Metrics;
use hermes_operator::reconcile::reconcile;
use hermes_operator::sizing::{self, MemoryPlan};
use hermes_operator::validate;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

pub const NS: &str = "ns";
pub const NAME: &str = "hermes";
pub const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/ns/deployments";
pub const SERVICES: &str = "/api/v1/namespaces/ns/services";
pub const PDBS: &str = "/apis/policy/v1/namespaces/ns/poddisruptionbudgets";
pub const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/ns/events";
pub const HD_STATUS: &str =
    "/apis/hermes.logos.dev/v1alpha1/namespaces/ns/hermesdeployments/hermes/status";

/// How the scripted server answers one request.
pub enum Reply {
    /// 404 Not Found.
    NotFound,
    /// 200 with this object.
    Object(Value),
    /// 200 with a HermesDeployment carrying the patched status.
    Status,
    /// 200 with the request's body, as the API server returns an applied object, with
    /// this resourceVersion and (for a Deployment) this status.
    Applied {
        resource_version: &'static str,
        status: Option<Value>,
    },
    /// Like `Applied`, with this `metadata.generation` (an apply that changed the spec).
    AppliedGeneration {
        resource_version: &'static str,
        generation: i64,
    },
}

pub struct Step {
    pub method: &'static str,
    pub path: String,
    pub reply: Reply,
}

pub fn step(method: &'static str, path: impl Into<String>, reply: Reply) -> Step {
    Step {
        method,
        path: path.into(),
        reply,
    }
}

pub fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

/// Answers `steps` in order and returns each request's body (Null when empty).
pub async fn serve(mut handle: Handle, steps: Vec<Step>) -> Vec<Value> {
    let mut bodies = Vec::new();
    for (i, s) in steps.into_iter().enumerate() {
        let (request, send) = handle.next_request().await.unwrap_or_else(|| {
            panic!(
                "step {i}: the client hung up before {} {}",
                s.method, s.path
            )
        });
        assert_eq!(
            request.method().as_str(),
            s.method,
            "step {i}: {}",
            request.uri()
        );
        assert_eq!(request.uri().path(), s.path, "step {i}");
        let query = request.uri().query().unwrap_or_default().to_string();
        if s.method == "PATCH" {
            assert!(
                query.contains("fieldManager=hermes-operator"),
                "step {i}: {query}"
            );
            let content_type = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if content_type == "application/apply-patch+yaml" {
                assert!(
                    query.contains("force=true"),
                    "step {i}: server-side apply is forced: {query}"
                );
            } else {
                // The operator's only other patches: merge patches (route weights, the
                // command annotation).
                assert_eq!(
                    content_type,
                    "application/merge-patch+json",
                    "step {i}: {}",
                    request.uri()
                );
            }
        }
        let bytes = request.into_body().collect_bytes().await.expect("body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("json body")
        };
        let (code, reply) = match s.reply {
            Reply::NotFound => (404, not_found()),
            Reply::Object(v) => (200, v),
            Reply::Status => {
                let mut v = serde_json::to_value(hd(spec(1, "stored"), None)).expect("json");
                v["status"] = body["status"].clone();
                (200, v)
            }
            Reply::Applied {
                resource_version,
                status,
            } => {
                let mut v = body.clone();
                v["metadata"]["resourceVersion"] = json!(resource_version);
                v["metadata"]["generation"] = json!(1);
                if let Some(st) = status {
                    v["status"] = st;
                }
                (200, v)
            }
            Reply::AppliedGeneration {
                resource_version,
                generation,
            } => {
                let mut v = body.clone();
                v["metadata"]["resourceVersion"] = json!(resource_version);
                v["metadata"]["generation"] = json!(generation);
                (200, v)
            }
        };
        let response = Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&reply).expect("reply")))
            .expect("response");
        send.send_response(response);
        bodies.push(body);
    }
    bodies
}

pub fn catalog() -> Catalog {
    Catalog::builtin()
}

/// The memory plan and the objects the operator builds for `r` (validated first, as the
/// reconcile does).
pub fn plan_and_desired(r: &HermesDeployment) -> (MemoryPlan, Desired) {
    let id = validate::identity(r).expect("identity");
    let v = validate::validate(id, &r.spec, &catalog()).expect("valid");
    let plan = sizing::plan(&v, &catalog()).expect("plan");
    let desired = hermes_operator::build::desired(&v, &plan, &catalog());
    (plan, desired)
}

pub fn hd(spec: Value, status: Option<Value>) -> HermesDeployment {
    let mut v = json!({
        "apiVersion": "hermes.logos.dev/v1alpha1",
        "kind": "HermesDeployment",
        "metadata": {"name": NAME, "namespace": NS, "uid": "5f0c1d2e-0000-4000-8000-000000000001", "generation": 3},
        "spec": spec,
    });
    if let Some(s) = status {
        v["status"] = s;
    }
    serde_json::from_value(v).expect("HermesDeployment")
}

pub fn spec(replicas: i32, image: &str) -> Value {
    json!({
        "image": image,
        "replicas": replicas,
        "models": [
            {"name": "all-minilm-l6-v2", "task": "embedding"},
            {"name": "whisper-tiny-en", "task": "stt"},
        ],
    })
}

pub fn context(client: Client) -> Arc<Context> {
    Arc::new(plain_context(client))
}

/// The Context of the tests, before it is shared (to add a Prometheus).
pub fn plain_context(client: Client) -> Context {
    let mut registry = prometheus_client::registry::Registry::default();
    Context::new(
        client.clone(),
        catalog(),
        recorder(client, reporter(Some("test".into()))),
        Metrics::new(&mut registry),
    )
}

/// Runs one reconcile of `hd` against `steps`; returns its result and the request bodies.
pub async fn run(hd: HermesDeployment, steps: Vec<Step>) -> (Result<Action, String>, Vec<Value>) {
    let (result, bodies, _) = run_with(hd, steps, context).await;
    (result, bodies)
}

/// `run` with the Context `make` builds (returned too, for its metrics).
pub async fn run_with(
    hd: HermesDeployment,
    steps: Vec<Step>,
    make: impl FnOnce(Client) -> Arc<Context>,
) -> (Result<Action, String>, Vec<Value>, Arc<Context>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let server = tokio::spawn(serve(handle, steps));
    let ctx = make(client);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        reconcile(Arc::new(hd), ctx.clone()),
    )
    .await
    .expect("reconcile made a request the script does not expect (or hung)")
    .map_err(|e| e.to_string());
    let bodies = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the script expected more requests than the reconcile made")
        .expect("verifier panicked");
    (result, bodies, ctx)
}

pub fn revision_of(deployment: &Value) -> String {
    deployment["spec"]["template"]["metadata"]["labels"]["hermes.logos.dev/revision"]
        .as_str()
        .expect("revision label")
        .to_string()
}

pub fn condition<'a>(status_patch: &'a Value, type_: &str) -> &'a Value {
    status_patch["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("condition {type_} in {status_patch}"))
}
