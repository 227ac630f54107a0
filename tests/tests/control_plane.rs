//! The operator against a REAL Kubernetes control plane (etcd, kube-apiserver with RBAC,
//! kube-controller-manager, kube-scheduler; `scripts/control-plane.sh` builds them) with
//! the process kubelet running real `hermes-runtime` pods. The chart is installed with
//! `helm install`, the operator runs as the chart's ServiceAccount, the user's side is
//! `kubectl`. One test so the control plane starts once; each scenario uses its own
//! namespace and every wait is bounded. Figures (CRD install to first reconcile, apply
//! to Ready, operator RSS) are printed, not asserted (`docs/control-plane-tests.md`).

use hermes_integration_tests::controlplane::operator::{self, Operator};
use hermes_integration_tests::controlplane::wait::eventually;
use hermes_integration_tests::controlplane::{ControlPlane, kubelet};
use hermes_integration_tests::workspace_binary;
use hermes_operator::crd::{HermesDeployment, HermesDeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Bound of one wait for the operator (a reconcile, a garbage collection).
const RECONCILE: Duration = Duration::from_secs(60);
/// Bound of pods becoming Ready (scheduling, the runtime loading its model).
const READY: Duration = Duration::from_secs(120);

struct Cluster {
    cp: ControlPlane,
    operator: Operator,
}

impl Cluster {
    fn logs(&self) -> String {
        format!(
            "=== operator {} ===\n{}\n{}",
            self.operator.identity,
            self.operator.process.logs(),
            self.cp.logs()
        )
    }

    fn api<K>(&self, ns: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.cp.client.clone(), ns)
    }

    async fn hd_status(&self, ns: &str, name: &str) -> Option<HermesDeploymentStatus> {
        self.api::<HermesDeployment>(ns)
            .get_opt(name)
            .await
            .ok()
            .flatten()?
            .status
    }

    /// Waits until the HermesDeployment's status satisfies `check`.
    async fn wait_status(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        bound: Duration,
        check: impl Fn(&HermesDeploymentStatus) -> bool,
    ) -> HermesDeploymentStatus {
        eventually(what, bound, || self.logs(), || async {
            self.hd_status(ns, name).await.filter(|s| check(s))
        })
        .await
    }

    async fn deployment(&self, ns: &str, name: &str, what: &str) -> Deployment {
        eventually(what, RECONCILE, || self.logs(), || async {
            self.api::<Deployment>(ns).get_opt(name).await.ok().flatten()
        })
        .await
    }

    fn apply(&self, ns: &str, yaml: &str) -> (bool, String) {
        let (ok, out, err) = self.cp.kubectl_stdin(&["apply", "-n", ns, "-f", "-"], Some(yaml));
        (ok, format!("{out}{err}"))
    }
}

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn condition<'a>(s: &'a HermesDeploymentStatus, type_: &str) -> Option<&'a Condition> {
    s.conditions.iter().find(|c| c.type_ == type_)
}

fn memory_limit(d: &Deployment) -> Option<String> {
    let c = d.spec.template.spec.as_ref()?.containers.first()?;
    Some(c.resources.as_ref()?.limits.as_ref()?.get("memory")?.0.clone())
}

/// Reasons of the events.k8s.io Events about `name` in `ns`.
fn event_reasons(cp: &ControlPlane, ns: &str, name: &str) -> Vec<String> {
    let out = cp.kubectl_ok(&["get", "events.events.k8s.io", "-n", ns, "-o", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["regarding"]["name"] == name)
        .filter_map(|e| e["reason"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_against_a_real_control_plane() {
    let cp = ControlPlane::start().await;
    let _kubelet = kubelet::start(cp.client.clone(), cp.dir.join("pods")).await;
    let crd_installed = Instant::now();
    operator::helm_install(&cp, None);
    let operator = Operator::start(&cp, "operator-a", None);
    let cluster = Cluster { cp, operator };

    let first_reconcile = scenario_examples(&cluster).await;
    eprintln!(
        "figure: helm install (CRD) to first reconcile: {:.1}s",
        (first_reconcile - crd_installed).as_secs_f64()
    );
    scenario_invalid(&cluster).await;
    scenario_server_side_apply(&cluster).await;
    scenario_garbage_collection(&cluster).await;
    scenario_not_taking_over(&cluster).await;
    assert_no_forbidden(&cluster);
    if let Some(kib) = cluster.operator.rss_kib() {
        eprintln!("figure: operator RSS: {} MiB", kib / 1024);
    }
}

/// Scenario 1: both examples applied with kubectl; returns when the first reconcile
/// (status written) was seen.
async fn scenario_examples(c: &Cluster) -> Instant {
    c.cp.kubectl_ok(&["create", "namespace", "demo"]);
    let applied = Instant::now();
    let (ok, out) = c.apply("demo", &example("hermesdeployment-minimal.yaml"));
    assert!(ok, "kubectl apply of the minimal example failed: {out}");
    c.wait_status("demo", "hermes-minimal", "the first status of hermes-minimal", RECONCILE, |s| {
        s.observed_generation.is_some()
    })
    .await;
    let first_reconcile = Instant::now();

    let d = c.deployment("demo", "hermes-minimal", "the Deployment of hermes-minimal").await;
    let status = c
        .wait_status("demo", "hermes-minimal", "hermes-minimal Ready with 1 ready replica", READY, |s| {
            s.phase.map(|p| p.as_str()) == Some("Ready") && s.ready_replicas == Some(1)
        })
        .await;
    eprintln!("figure: kubectl apply to Ready (minimal example): {:.1}s", applied.elapsed().as_secs_f64());
    let limit = memory_limit(&d).expect("the runtime container has a memory limit");
    let status_limit = status.memory.as_ref().map(|m| m.limit.clone());
    assert_eq!(Some(limit.clone()), status_limit, "status.memory.limit is the Deployment's limit");
    let render = std::process::Command::new(workspace_binary("hermes-operator"))
        .args(["render", "-n", "demo", "-f"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/hermesdeployment-minimal.yaml"))
        .output()
        .expect("hermes-operator render");
    let rendered = String::from_utf8_lossy(&render.stdout);
    assert!(
        rendered.contains(&format!("memory: {limit}")),
        "the cluster's memory limit {limit} is the one `hermes-operator render` computes:\n{rendered}"
    );
    let ready = condition(&status, "Ready").expect("a Ready condition");
    assert_eq!(ready.status, "True", "Ready condition: {ready:?}");

    // The Service's EndpointSlice holds the pod's own address, ready.
    let svc = c.api::<Service>("demo").get("hermes-minimal").await.expect("the Service");
    assert!(svc.spec.and_then(|s| s.selector).is_some_and(|s| !s.is_empty()), "the Service selects pods");
    let slices: Api<EndpointSlice> = c.api("demo");
    let address = eventually("a ready endpoint of Service hermes-minimal", RECONCILE, || c.logs(), || async {
        let lp = ListParams::default().labels("kubernetes.io/service-name=hermes-minimal");
        let list = slices.list(&lp).await.ok()?;
        list.items.iter().flat_map(|s| s.endpoints.iter().flatten()).find_map(|e| {
            let ready = e.conditions.as_ref()?.ready?;
            ready.then(|| e.addresses.first().cloned()).flatten()
        })
    })
    .await;
    assert!(address.starts_with("10.245."), "endpoint {address} is the pod's own address");
    let readyz = reqwest::get(format!("http://{address}:{}/readyz", hermes_interface::probes::HTTP_PORT))
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(readyz.ok(), Some(200), "the endpoint is the real runtime, ready");
    let pdbs = c.api::<PodDisruptionBudget>("demo").list(&ListParams::default()).await.expect("PDBs");
    assert!(pdbs.items.is_empty(), "one replica: no PodDisruptionBudget");

    // `kubectl get hd` shows the printer columns.
    let table = c.cp.kubectl_ok(&["get", "hd", "-n", "demo"]);
    let header = table.lines().next().unwrap_or_default();
    for column in ["NAME", "PHASE", "READY", "STABLE REV", "CANARY REV", "CANARY WEIGHT", "MEMORY", "AGE"] {
        assert!(header.contains(column), "column {column} in `kubectl get hd`:\n{table}");
    }
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("hermes-minimal") && row.contains("Ready") && row.contains(&limit),
        "`kubectl get hd` row shows phase and memory:\n{table}"
    );
    let reasons = event_reasons(&c.cp, "demo", "hermes-minimal");
    for reason in ["DeploymentCreated", "ServiceCreated"] {
        assert!(reasons.iter().any(|r| r == reason), "Event {reason} about hermes-minimal, got {reasons:?}");
    }

    // The full example: three replicas, so a PodDisruptionBudget too.
    c.cp.kubectl_ok(&["create", "namespace", "logos"]);
    c.cp.kubectl_ok(&["create", "priorityclass", "logos-inference", "--value=1000"]);
    for (secret, literals) in [
        ("hermes-milvus", vec!["--from-literal=username=hermes", "--from-literal=password=pw"]),
        ("hermes-sophia", vec!["--from-literal=token=t"]),
        ("hermes-llm", vec!["--from-literal=api-key=k"]),
        ("hermes-api-keys", vec!["--from-literal=keys=key-one"]),
    ] {
        let mut args = vec!["create", "secret", "generic", secret, "-n", "logos"];
        args.extend(literals);
        c.cp.kubectl_ok(&args);
    }
    let (ok, out) = c.apply("logos", &example("hermesdeployment-full.yaml"));
    assert!(ok, "kubectl apply of the full example failed: {out}");
    let d = c.deployment("logos", "hermes", "the Deployment of the full example").await;
    assert_eq!(d.spec.replicas, Some(3));
    let status = c
        .wait_status("logos", "hermes", "the memory status of the full example", RECONCILE, |s| s.memory.is_some())
        .await;
    assert_eq!(memory_limit(&d), status.memory.map(|m| m.limit), "status.memory.limit is the Deployment's");
    eventually("the full example's PodDisruptionBudget", RECONCILE, || c.logs(), || async {
        c.api::<PodDisruptionBudget>("logos").get_opt("hermes").await.ok().flatten()
    })
    .await;
    c.api::<Service>("logos").get("hermes").await.expect("the full example's Service");
    first_reconcile
}

/// Scenario 2: the apiserver refuses invalid resources with the CRD's messages (every CEL
/// rule, and schema errors); a semantically invalid change gets `InvalidSpec` and leaves
/// the running workload alone.
async fn scenario_invalid(c: &Cluster) {
    let base = |spec_extra: &str| {
        format!(
            "apiVersion: hermes.logos.dev/v1alpha1\nkind: HermesDeployment\nmetadata:\n  name: bad\nspec:\n  image: hermes-runtime:test\n  models:\n    - {{name: all-minilm-l6-v2, task: embedding}}\n{spec_extra}"
        )
    };
    let cases = [
        ("memory.min > memory.max", base("  memory: {min: 2Gi, max: 1Gi}\n"), "memory.min must not exceed memory.max"),
        (
            "latencyP99 < latencyP95",
            base("  slos:\n    - {route: /embed_text, latencyP95: 400ms, latencyP99: 100ms, maxErrorRate: 0.01}\n"),
            "latencyP99 must not be below latencyP95",
        ),
        (
            "unsorted canary steps",
            base("  rollout:\n    canary: {steps: [50, 10, 100]}\n"),
            "canary steps must be increasing",
        ),
        (
            "custom metric without bounds",
            base("  rollout:\n    analysis:\n      metrics:\n        - {name: m, query: up}\n"),
            "a custom metric needs min or max",
        ),
        ("unknown task", base("").replace("task: embedding", "task: dance"), "Unsupported value: \"dance\""),
        ("no image", base("").replace("  image: hermes-runtime:test\n", ""), "spec.image: Required value"),
    ];
    for (what, yaml, message) in cases {
        let (ok, out) = c.apply("demo", &yaml);
        assert!(!ok, "{what}: the apiserver accepted it:\n{yaml}");
        assert!(out.contains(message), "{what}: the refusal says {message:?}; got:\n{out}");
    }

    // Semantically invalid (a model the catalog does not know): accepted by the
    // apiserver, refused by the operator, the running Deployment untouched.
    let deployments = c.api::<Deployment>("demo");
    let before = deployments.get("hermes-minimal").await.expect("Deployment");
    let invalid = example("hermesdeployment-minimal.yaml").replace("all-minilm-l6-v2", "no-such-model");
    let (ok, out) = c.apply("demo", &invalid);
    assert!(ok, "an unknown model passes the CRD's schema: {out}");
    let status = c
        .wait_status("demo", "hermes-minimal", "InvalidSpec on hermes-minimal", RECONCILE, |s| {
            condition(s, "InvalidSpec").is_some_and(|c| c.status == "True")
        })
        .await;
    let message = condition(&status, "InvalidSpec").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("unknown model \"no-such-model\""), "InvalidSpec message: {message}");
    let after = deployments.get("hermes-minimal").await.expect("Deployment");
    assert_eq!(before.metadata.generation, after.metadata.generation, "the Deployment was not touched");
    assert!(
        event_reasons(&c.cp, "demo", "hermes-minimal").iter().any(|r| r == "InvalidSpec"),
        "an InvalidSpec Event"
    );
    let (ok, out) = c.apply("demo", &example("hermesdeployment-minimal.yaml"));
    assert!(ok, "re-applying the valid example: {out}");
    c.wait_status("demo", "hermes-minimal", "hermes-minimal Ready again", READY, |s| {
        s.phase.map(|p| p.as_str()) == Some("Ready")
            && condition(s, "InvalidSpec").is_none_or(|c| c.status != "True")
    })
    .await;
}

/// Scenario 6: a field a user set with kubectl on the Deployment, which the operator does
/// not manage, survives reconciles; a field the operator manages is taken back.
async fn scenario_server_side_apply(c: &Cluster) {
    c.cp.kubectl_ok(&["annotate", "deployment", "hermes-minimal", "-n", "demo", "example.com/owner=team-a"]);
    c.cp.kubectl_ok(&["scale", "deployment", "hermes-minimal", "-n", "demo", "--replicas=2"]);
    let deployments = c.api::<Deployment>("demo");
    let d = eventually("the operator to take replicas back to 1", RECONCILE, || c.logs(), || async {
        let d = deployments.get("hermes-minimal").await.ok()?;
        (d.spec.replicas == Some(1)).then_some(d)
    })
    .await;
    let annotation = d.metadata.annotations.as_ref().and_then(|a| a.get("example.com/owner"));
    assert_eq!(annotation.map(String::as_str), Some("team-a"), "the user's annotation survived the reconcile");
}

/// Scenario 5: deleting a HermesDeployment garbage-collects what it owned.
async fn scenario_garbage_collection(c: &Cluster) {
    c.cp.kubectl_ok(&["delete", "hd", "hermes", "-n", "logos", "--wait=false"]);
    eventually("the garbage collector to delete the full example's objects", RECONCILE, || c.logs(), || async {
        let d = c.api::<Deployment>("logos").get_opt("hermes").await.ok()?;
        let s = c.api::<Service>("logos").get_opt("hermes").await.ok()?;
        let p = c.api::<PodDisruptionBudget>("logos").get_opt("hermes").await.ok()?;
        (d.is_none() && s.is_none() && p.is_none()).then_some(())
    })
    .await;
}

/// Scenario 5, second half: a Deployment of the same name the operator does not own is
/// not taken over; the HermesDeployment says so in a condition.
async fn scenario_not_taking_over(c: &Cluster) {
    c.cp.kubectl_ok(&["create", "deployment", "taken", "-n", "demo", "--image=example.com/someone-else:1"]);
    let yaml = example("hermesdeployment-minimal.yaml").replace("name: hermes-minimal", "name: taken");
    let (ok, out) = c.apply("demo", &yaml);
    assert!(ok, "{out}");
    let status = c
        .wait_status("demo", "taken", "a condition about the Deployment it does not own", RECONCILE, |s| {
            s.conditions.iter().any(|c| c.status == "True" && c.message.contains("not owned"))
                || s.conditions.iter().any(|c| c.reason.contains("NotOwned") || c.reason.contains("Conflict"))
        })
        .await;
    let d = c.api::<Deployment>("demo").get("taken").await.expect("the foreign Deployment");
    let image = d.spec.template.spec.and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    assert_eq!(image.as_deref(), Some("example.com/someone-else:1"), "not taken over; status: {status:?}");
    assert!(
        d.metadata.owner_references.unwrap_or_default().is_empty(),
        "no owner reference added to a foreign Deployment"
    );
}

/// The operator ran as the chart's ServiceAccount without a single `forbidden`.
fn assert_no_forbidden(c: &Cluster) {
    let log = std::fs::read_to_string(&c.operator.process.log).unwrap_or_default();
    let forbidden: Vec<&str> = log.lines().filter(|l| l.contains("forbidden")).take(5).collect();
    assert!(forbidden.is_empty(), "the chart's RBAC was not enough:\n{}", forbidden.join("\n"));
}
