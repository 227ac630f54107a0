//! The operator against a REAL Kubernetes control plane (etcd, kube-apiserver with RBAC,
//! kube-controller-manager, kube-scheduler; `scripts/control-plane.sh` builds them) with
//! the process kubelet running real `hermes-runtime` pods. The chart is installed with
//! `helm install`, the operator runs as the chart's ServiceAccount, the user's side is
//! `kubectl`. One test so the control plane starts once; each scenario uses its own
//! namespace and every wait is bounded. Figures (CRD install to first reconcile, apply
//! to Ready, operator RSS) are printed, not asserted (`docs/control-plane-tests.md`).

use hermes_integration_tests::controlplane::operator::{self, Operator};
use hermes_integration_tests::controlplane::service_load::ServiceLoad;
use hermes_integration_tests::controlplane::wait::eventually;
use hermes_integration_tests::controlplane::{ControlPlane, kubelet, prometheus_binary};
use hermes_integration_tests::prometheus::Prometheus;
use hermes_integration_tests::{free_port, workspace_binary};
use hermes_operator::crd::{HermesDeployment, HermesDeploymentStatus};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
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
    /// operator-a (started first, so it takes the Lease) and operator-b (standby).
    operators: Vec<Operator>,
    /// Started by the canary scenario on the port the operators were given.
    prometheus_port: u16,
    prometheus_url: String,
}

impl Cluster {
    fn logs(&self) -> String {
        let mut out = String::new();
        for op in &self.operators {
            out.push_str(&format!(
                "=== operator {} ===\n{}\n",
                op.identity,
                op.process.logs()
            ));
        }
        // What the operator recorded: statuses and Events say where a rollout stands.
        let (_, statuses, _) = self.cp.kubectl(&[
            "get",
            "hd",
            "-A",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}: {.status}{\"\\n\"}{end}",
        ]);
        let (_, events, _) = self
            .cp
            .kubectl(&["get", "events", "-A", "--sort-by=.lastTimestamp"]);
        format!("{out}=== HermesDeployment statuses ===\n{statuses}\n=== Events ===\n{events}\n")
            + &self.cp.logs()
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
        eventually(
            what,
            bound,
            || self.logs(),
            || async { self.hd_status(ns, name).await.filter(|s| check(s)) },
        )
        .await
    }

    async fn deployment(&self, ns: &str, name: &str, what: &str) -> Deployment {
        eventually(
            what,
            RECONCILE,
            || self.logs(),
            || async {
                self.api::<Deployment>(ns)
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
            },
        )
        .await
    }

    fn apply(&self, ns: &str, yaml: &str) -> (bool, String) {
        let (ok, out, err) = self
            .cp
            .kubectl_stdin(&["apply", "-n", ns, "-f", "-"], Some(yaml));
        (ok, format!("{out}{err}"))
    }
}

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn condition<'a>(s: &'a HermesDeploymentStatus, type_: &str) -> Option<&'a Condition> {
    s.conditions.iter().find(|c| c.type_ == type_)
}

fn memory_limit(d: &Deployment) -> Option<String> {
    let c = d.spec.template.spec.as_ref()?.containers.first()?;
    Some(
        c.resources
            .as_ref()?
            .limits
            .as_ref()?
            .get("memory")?
            .0
            .clone(),
    )
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
    let prometheus_port = free_port();
    let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
    let crd_installed = Instant::now();
    operator::helm_install(&cp, Some(&prometheus_url));
    let first = Operator::start(&cp, "operator-a", Some(&prometheus_url));
    let mut cluster = Cluster {
        cp,
        operators: vec![first],
        prometheus_port,
        prometheus_url,
    };
    wait_leader(&cluster, "operator-a").await;
    let standby = Operator::start(&cluster.cp, "operator-b", Some(&cluster.prometheus_url));
    cluster.operators.push(standby);

    let first_reconcile = scenario_examples(&cluster).await;
    eprintln!(
        "figure: helm install (CRD) to first reconcile: {:.1}s",
        (first_reconcile - crd_installed).as_secs_f64()
    );
    scenario_invalid(&cluster).await;
    scenario_server_side_apply(&cluster).await;
    scenario_garbage_collection(&cluster).await;
    scenario_not_taking_over(&cluster).await;
    scenario_canary(&mut cluster).await;
    scenario_autoscaled_canary(&cluster).await;
    assert_no_forbidden(&cluster);
}

/// Scenario 1: both examples applied with kubectl; returns when the first reconcile
/// (status written) was seen.
async fn scenario_examples(c: &Cluster) -> Instant {
    c.cp.kubectl_ok(&["create", "namespace", "demo"]);
    let applied = Instant::now();
    let (ok, out) = c.apply("demo", &example("hermesdeployment-minimal.yaml"));
    assert!(ok, "kubectl apply of the minimal example failed: {out}");
    c.wait_status(
        "demo",
        "hermes-minimal",
        "the first status of hermes-minimal",
        RECONCILE,
        |s| s.observed_generation.is_some(),
    )
    .await;
    let first_reconcile = Instant::now();

    let d = c
        .deployment("demo", "hermes-minimal", "the Deployment of hermes-minimal")
        .await;
    let status = c
        .wait_status(
            "demo",
            "hermes-minimal",
            "hermes-minimal Ready with 1 ready replica",
            READY,
            |s| s.phase.map(|p| p.as_str()) == Some("Ready") && s.ready_replicas == Some(1),
        )
        .await;
    eprintln!(
        "figure: kubectl apply to Ready (minimal example): {:.1}s",
        applied.elapsed().as_secs_f64()
    );
    let limit = memory_limit(&d).expect("the runtime container has a memory limit");
    let status_limit = status.memory.as_ref().map(|m| m.limit.clone());
    assert_eq!(
        Some(limit.clone()),
        status_limit,
        "status.memory.limit is the Deployment's limit"
    );
    let render = std::process::Command::new(workspace_binary("hermes-operator"))
        .args(["render", "-n", "demo", "-f"])
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/hermesdeployment-minimal.yaml"),
        )
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
    let svc = c
        .api::<Service>("demo")
        .get("hermes-minimal")
        .await
        .expect("the Service");
    assert!(
        svc.spec
            .and_then(|s| s.selector)
            .is_some_and(|s| !s.is_empty()),
        "the Service selects pods"
    );
    let slices: Api<EndpointSlice> = c.api("demo");
    let address = eventually(
        "a ready endpoint of Service hermes-minimal",
        RECONCILE,
        || c.logs(),
        || async {
            let lp = ListParams::default().labels("kubernetes.io/service-name=hermes-minimal");
            let list = slices.list(&lp).await.ok()?;
            list.items
                .iter()
                .flat_map(|s| s.endpoints.iter().flatten())
                .find_map(|e| {
                    let ready = e.conditions.as_ref()?.ready?;
                    ready.then(|| e.addresses.first().cloned()).flatten()
                })
        },
    )
    .await;
    assert!(
        address.starts_with("10.245."),
        "endpoint {address} is the pod's own address"
    );
    let readyz = reqwest::get(format!(
        "http://{address}:{}/readyz",
        hermes_interface::probes::HTTP_PORT
    ))
    .await
    .map(|r| r.status().as_u16());
    assert_eq!(
        readyz.ok(),
        Some(200),
        "the endpoint is the real runtime, ready"
    );
    let pdbs = c
        .api::<PodDisruptionBudget>("demo")
        .list(&ListParams::default())
        .await
        .expect("PDBs");
    assert!(pdbs.items.is_empty(), "one replica: no PodDisruptionBudget");

    // `kubectl get hd` shows the printer columns.
    let table = c.cp.kubectl_ok(&["get", "hd", "-n", "demo"]);
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "NAME",
        "PHASE",
        "READY",
        "STABLE REV",
        "CANARY REV",
        "CANARY WEIGHT",
        "MEMORY",
        "AGE",
    ] {
        assert!(
            header.contains(column),
            "column {column} in `kubectl get hd`:\n{table}"
        );
    }
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("hermes-minimal") && row.contains("Ready") && row.contains(&limit),
        "`kubectl get hd` row shows phase and memory:\n{table}"
    );
    let reasons = event_reasons(&c.cp, "demo", "hermes-minimal");
    for reason in ["DeploymentCreated", "ServiceCreated"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "Event {reason} about hermes-minimal, got {reasons:?}"
        );
    }

    // The full example: three replicas, so a PodDisruptionBudget too.
    c.cp.kubectl_ok(&["create", "namespace", "logos"]);
    c.cp.kubectl_ok(&["create", "priorityclass", "logos-inference", "--value=1000"]);
    for (secret, literals) in [
        (
            "hermes-milvus",
            vec![
                "--from-literal=username=hermes",
                "--from-literal=password=pw",
            ],
        ),
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
    let d = c
        .deployment("logos", "hermes", "the Deployment of the full example")
        .await;
    assert_eq!(d.spec.replicas, Some(3));
    let status = c
        .wait_status(
            "logos",
            "hermes",
            "the memory status of the full example",
            RECONCILE,
            |s| s.memory.is_some(),
        )
        .await;
    assert_eq!(
        memory_limit(&d),
        status.memory.map(|m| m.limit),
        "status.memory.limit is the Deployment's"
    );
    eventually(
        "the full example's PodDisruptionBudget",
        RECONCILE,
        || c.logs(),
        || async {
            c.api::<PodDisruptionBudget>("logos")
                .get_opt("hermes")
                .await
                .ok()
                .flatten()
        },
    )
    .await;
    c.api::<Service>("logos")
        .get("hermes")
        .await
        .expect("the full example's Service");
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
        (
            "memory.min > memory.max",
            base("  memory: {min: 2Gi, max: 1Gi}\n"),
            "memory.min must not exceed memory.max",
        ),
        (
            "latencyP99 < latencyP95",
            base(
                "  slos:\n    - {route: /embed_text, latencyP95: 400ms, latencyP99: 100ms, maxErrorRate: 0.01}\n",
            ),
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
        (
            "autoscaling min above max",
            base(
                "  autoscaling: {minReplicas: 5, maxReplicas: 2, targetCPUUtilizationPercent: 70}\n",
            ),
            "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
        ),
        (
            "autoscaling without a target",
            base("  autoscaling: {minReplicas: 1, maxReplicas: 2}\n"),
            "autoscaling needs targetCPUUtilizationPercent or targetInFlightPerPod",
        ),
        (
            "gate timeout above 1m",
            base(
                "  rollout:\n    canary:\n      webhooks:\n        - {name: qa, type: pre-rollout, url: 'http://qa.example/gate', timeout: 5m}\n",
            ),
            "a webhook's timeout must be above 0 and at most 1m",
        ),
        (
            "gate of an unknown type",
            base(
                "  rollout:\n    canary:\n      webhooks:\n        - {name: qa, type: post-rollout, url: 'http://qa.example/gate'}\n",
            ),
            "Unsupported value: \"post-rollout\"",
        ),
        (
            "unknown task",
            base("").replace("task: embedding", "task: dance"),
            "Unsupported value: \"dance\"",
        ),
        (
            "no image",
            base("").replace("  image: hermes-runtime:test\n", ""),
            "spec.image: Required value",
        ),
    ];
    for (what, yaml, message) in cases {
        let (ok, out) = c.apply("demo", &yaml);
        assert!(!ok, "{what}: the apiserver accepted it:\n{yaml}");
        assert!(
            out.contains(message),
            "{what}: the refusal says {message:?}; got:\n{out}"
        );
    }

    // Semantically invalid (a model the catalog does not know): accepted by the
    // apiserver, refused by the operator, the running Deployment untouched.
    let deployments = c.api::<Deployment>("demo");
    let before = deployments.get("hermes-minimal").await.expect("Deployment");
    let invalid =
        example("hermesdeployment-minimal.yaml").replace("all-minilm-l6-v2", "no-such-model");
    let (ok, out) = c.apply("demo", &invalid);
    assert!(ok, "an unknown model passes the CRD's schema: {out}");
    let status = c
        .wait_status(
            "demo",
            "hermes-minimal",
            "InvalidSpec on hermes-minimal",
            RECONCILE,
            |s| condition(s, "InvalidSpec").is_some_and(|c| c.status == "True"),
        )
        .await;
    let message = condition(&status, "InvalidSpec")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("unknown model \"no-such-model\""),
        "InvalidSpec message: {message}"
    );
    let after = deployments.get("hermes-minimal").await.expect("Deployment");
    assert_eq!(
        before.metadata.generation, after.metadata.generation,
        "the Deployment was not touched"
    );
    assert!(
        event_reasons(&c.cp, "demo", "hermes-minimal")
            .iter()
            .any(|r| r == "InvalidSpec"),
        "an InvalidSpec Event"
    );
    let (ok, out) = c.apply("demo", &example("hermesdeployment-minimal.yaml"));
    assert!(ok, "re-applying the valid example: {out}");
    c.wait_status(
        "demo",
        "hermes-minimal",
        "hermes-minimal Ready again",
        READY,
        |s| {
            s.phase.map(|p| p.as_str()) == Some("Ready")
                && condition(s, "InvalidSpec").is_none_or(|c| c.status != "True")
        },
    )
    .await;
}

/// Scenario 6: a field a user set with kubectl on the Deployment, which the operator does
/// not manage, survives reconciles; a field the operator manages is taken back.
async fn scenario_server_side_apply(c: &Cluster) {
    c.cp.kubectl_ok(&[
        "annotate",
        "deployment",
        "hermes-minimal",
        "-n",
        "demo",
        "example.com/owner=team-a",
    ]);
    c.cp.kubectl_ok(&[
        "scale",
        "deployment",
        "hermes-minimal",
        "-n",
        "demo",
        "--replicas=2",
    ]);
    let deployments = c.api::<Deployment>("demo");
    let d = eventually(
        "the operator to take replicas back to 1",
        RECONCILE,
        || c.logs(),
        || async {
            let d = deployments.get("hermes-minimal").await.ok()?;
            (d.spec.replicas == Some(1)).then_some(d)
        },
    )
    .await;
    let annotation = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("example.com/owner"));
    assert_eq!(
        annotation.map(String::as_str),
        Some("team-a"),
        "the user's annotation survived the reconcile"
    );
}

/// Scenario 5: deleting a HermesDeployment garbage-collects what it owned.
async fn scenario_garbage_collection(c: &Cluster) {
    c.cp.kubectl_ok(&["delete", "hd", "hermes", "-n", "logos", "--wait=false"]);
    eventually(
        "the garbage collector to delete the full example's objects",
        RECONCILE,
        || c.logs(),
        || async {
            let d = c.api::<Deployment>("logos").get_opt("hermes").await.ok()?;
            let s = c.api::<Service>("logos").get_opt("hermes").await.ok()?;
            let p = c
                .api::<PodDisruptionBudget>("logos")
                .get_opt("hermes")
                .await
                .ok()?;
            (d.is_none() && s.is_none() && p.is_none()).then_some(())
        },
    )
    .await;
}

/// Scenario 5, second half: a Deployment of the same name the operator does not own is
/// not taken over; the status (Degraded, ObjectNotOwned) and a Warning Event say why.
async fn scenario_not_taking_over(c: &Cluster) {
    c.cp.kubectl_ok(&[
        "create",
        "deployment",
        "taken",
        "-n",
        "demo",
        "--image=example.com/someone-else:1",
    ]);
    let yaml =
        example("hermesdeployment-minimal.yaml").replace("name: hermes-minimal", "name: taken");
    let (ok, out) = c.apply("demo", &yaml);
    assert!(ok, "{out}");
    let status = c
        .wait_status(
            "demo",
            "taken",
            "the operator to refuse the foreign Deployment in the status",
            RECONCILE,
            |s| condition(s, "Degraded").is_some_and(|c| c.reason == "ObjectNotOwned"),
        )
        .await;
    assert_eq!(status.phase.map(|p| p.as_str()), Some("Degraded"));
    let message = condition(&status, "Degraded")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("Deployment demo/taken exists and is not owned by HermesDeployment taken"),
        "Degraded message: {message}"
    );
    assert!(
        event_reasons(&c.cp, "demo", "taken")
            .iter()
            .any(|r| r == "ObjectNotOwned"),
        "a Warning Event ObjectNotOwned"
    );
    let d = c
        .api::<Deployment>("demo")
        .get("taken")
        .await
        .expect("the foreign Deployment");
    assert_eq!(
        image(&d).as_deref(),
        Some("example.com/someone-else:1"),
        "not taken over"
    );
    assert!(
        d.metadata.owner_references.unwrap_or_default().is_empty(),
        "no owner reference added to a foreign Deployment"
    );
    c.cp.kubectl_ok(&["delete", "hd", "taken", "-n", "demo"]);
}

/// The operators ran as the chart's ServiceAccount without a single `forbidden`.
fn assert_no_forbidden(c: &Cluster) {
    for op in &c.operators {
        let log = std::fs::read_to_string(&op.process.log).unwrap_or_default();
        let forbidden: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("forbidden"))
            .take(5)
            .collect();
        assert!(
            forbidden.is_empty(),
            "the chart's RBAC was not enough for {}:\n{}",
            op.identity,
            forbidden.join("\n")
        );
    }
}

/// Prometheus discovering the pods through this apiserver (`kubernetes_sd_configs`),
/// relabelled with the `relabel_configs` block users are told to write, taken from
/// docs/canary-rollouts.md itself.
fn prometheus_config(cp: &ControlPlane) -> String {
    let manual = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/canary-rollouts.md"),
    )
    .expect("docs/canary-rollouts.md");
    let start = manual
        .find("```yaml\nrelabel_configs:\n")
        .expect("the relabel_configs block of docs/canary-rollouts.md");
    let block = &manual[start + "```yaml\n".len()..];
    let block = &block[..block.find("```").expect("end of the relabel_configs block")];
    let relabel: String = block.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: hermes-pods\n    metrics_path: /metrics\n    kubernetes_sd_configs:\n      - role: pod\n        api_server: {}\n        tls_config: {{ca_file: {}, cert_file: {}, key_file: {}}}\n{relabel}",
        cp.server,
        cp.certs.ca_crt.display(),
        cp.certs.admin_crt.display(),
        cp.certs.admin_key.display()
    )
}

async fn lease_holder(c: &Cluster) -> Option<String> {
    let lease = c
        .api::<Lease>(operator::NAMESPACE)
        .get_opt("hermes-operator-leader")
        .await
        .ok()??;
    lease.spec?.holder_identity
}

async fn wait_leader(c: &Cluster, identity: &str) {
    eventually(
        &format!("{identity} to hold the leader Lease"),
        RECONCILE,
        || c.logs(),
        || async { (lease_holder(c).await.as_deref() == Some(identity)).then_some(()) },
    )
    .await;
}

fn image(d: &Deployment) -> Option<String> {
    d.spec
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

const CANARY_NS: &str = "canary";

fn canary_resource(image: &str, interval: &str) -> String {
    format!(
        r#"apiVersion: hermes.logos.dev/v1alpha1
kind: HermesDeployment
metadata:
  name: web
spec:
  image: {image}
  replicas: 2
  models:
    - {{name: all-minilm-l6-v2, task: embedding}}
  slos:
    - {{route: /, latencyP95: 400ms, maxErrorRate: 0.05}}
  rollout:
    canary:
      steps: [50, 100]
      interval: {interval}
      failureLimit: 2
      # A new pod is in Prometheus only after service discovery's next refresh (a few
      # seconds), longer than these 3 s steps: hold the step until data arrives.
      noDataPolicy: wait
    analysis:
      window: 6s
      metrics:
        - name: throughput
          query: 'sum(rate(hermes_http_requests_total{{namespace="{{{{namespace}}}}",revision="{{{{revision}}}}",route="/"}}[{{{{interval}}}}]))'
          min: 0.5
"#
    )
}

async fn rollout_phase(c: &Cluster) -> Option<String> {
    rollout_phase_of(c, CANARY_NS, "web").await
}

async fn rollout_phase_of(c: &Cluster, ns: &str, name: &str) -> Option<String> {
    let s = c.hd_status(ns, name).await?;
    let phase = serde_json::to_value(s.rollout?.phase).ok()?;
    phase.as_str().map(String::from)
}

/// Scenarios 3 and 4: canaries with real pods, real traffic (the Service played over its
/// EndpointSlices) and real Prometheus: a healthy change promoted, a faulty one rolled
/// back, `kubectl annotate` promote and abort, and the leader killed mid-canary with the
/// standby resuming at the same step.
async fn scenario_canary(c: &mut Cluster) {
    let prometheus = Prometheus::start_with_config(
        &prometheus_binary(),
        &prometheus_config(&c.cp),
        c.prometheus_port,
    )
    .await;
    c.cp.kubectl_ok(&["create", "namespace", CANARY_NS]);
    let (ok, out) = c.apply(CANARY_NS, &canary_resource("hermes-runtime:v1", "3s"));
    assert!(ok, "{out}");
    c.wait_status(CANARY_NS, "web", "web Ready with 2 replicas", READY, |s| {
        s.phase.map(|p| p.as_str()) == Some("Ready") && s.ready_replicas == Some(2)
    })
    .await;
    let load = ServiceLoad::start(
        c.cp.client.clone(),
        CANARY_NS,
        "web",
        "/",
        4,
        Duration::from_millis(20),
    );
    assert!(
        prometheus
            .wait_for_sample(r#"sum(up{namespace="canary",revision!=""})"#, RECONCILE)
            .await,
        "Prometheus discovers the pods through kubernetes_sd_configs and the manual's relabelling"
    );
    let deployments = c.api::<Deployment>(CANARY_NS);

    // A healthy change: canary, analysis passes at each step, promoted.
    let (ok, out) = c.apply(CANARY_NS, &canary_resource("hermes-runtime:v2", "3s"));
    assert!(ok, "{out}");
    eventually(
        "the canary Deployment web-canary",
        RECONCILE,
        || c.logs(),
        || async { deployments.get_opt("web-canary").await.ok().flatten() },
    )
    .await;
    // The canary Deployment can be seen before the status says Progressing, so "Stable"
    // alone could still be the state before the canary: wait for the promoted image too.
    eventually(
        "the healthy canary promoted",
        READY,
        || c.logs(),
        || async {
            let s = c.hd_status(CANARY_NS, "web").await?;
            let stable = s
                .rollout
                .as_ref()
                .is_some_and(|r| serde_json::to_value(r.phase).ok() == Some("Stable".into()))
                && s.ready_replicas == Some(2);
            let d = deployments.get_opt("web").await.ok()??;
            (stable && image(&d).as_deref() == Some("hermes-runtime:v2")).then_some(())
        },
    )
    .await;
    let d = deployments.get("web").await.expect("web");
    assert_eq!(
        image(&d).as_deref(),
        Some("hermes-runtime:v2"),
        "promoted to the stable Deployment"
    );
    let reasons = event_reasons(&c.cp, CANARY_NS, "web");
    for reason in ["RolloutStarted", "RolloutStepPassed", "RolloutPromoted"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "Event {reason}; got {reasons:?}"
        );
    }

    // A faulty change: the analysis fails, the canary is rolled back.
    let faulty_applied = Instant::now();
    let (ok, out) = c.apply(CANARY_NS, &canary_resource("hermes-runtime:faulty", "3s"));
    assert!(ok, "{out}");
    let status = c
        .wait_status(
            CANARY_NS,
            "web",
            "the faulty canary rolled back",
            READY,
            |s| {
                s.rollout.as_ref().is_some_and(|r| {
                    serde_json::to_value(r.phase).ok() == Some("RolledBack".into())
                })
            },
        )
        .await;
    eprintln!(
        "figure: faulty canary applied to rolled back: {:.1}s",
        faulty_applied.elapsed().as_secs_f64()
    );
    assert_eq!(status.phase.map(|p| p.as_str()), Some("RolledBack"));
    let rollout = status.rollout.expect("status.rollout");
    assert!(
        rollout.reason.is_some(),
        "status.rollout.reason says why: {rollout:?}"
    );
    let d = deployments.get("web").await.expect("web");
    assert_eq!(
        image(&d).as_deref(),
        Some("hermes-runtime:v2"),
        "the stable Deployment kept the healthy image"
    );
    // Kept at 0 pods so that `retry` can scale it again (docs/canary-rollouts.md).
    eventually(
        "web-canary scaled to 0 pods",
        RECONCILE,
        || c.logs(),
        || async {
            let d = deployments.get_opt("web-canary").await.ok()??;
            let pods = d.status.and_then(|s| s.replicas).unwrap_or(0);
            (d.spec.replicas == Some(0) && pods == 0).then_some(())
        },
    )
    .await;
    assert!(
        event_reasons(&c.cp, CANARY_NS, "web")
            .iter()
            .any(|r| r == "RolledBack"),
        "a RolledBack Event"
    );

    // A slow canary (5 min per step), with the leader killed mid-canary: the standby
    // takes the Lease and resumes from the status at the same step; `promote` finishes it.
    let (ok, out) = c.apply(CANARY_NS, &canary_resource("hermes-runtime:v3", "5m"));
    assert!(ok, "{out}");
    let before = c
        .wait_status(CANARY_NS, "web", "the v3 canary progressing", READY, |s| {
            s.rollout
                .as_ref()
                .is_some_and(|r| serde_json::to_value(r.phase).ok() == Some("Progressing".into()))
        })
        .await
        .rollout
        .expect("rollout");
    assert_eq!(lease_holder(c).await.as_deref(), Some("operator-a"));
    let standby_log = std::fs::read_to_string(&c.operators[1].process.log).unwrap_or_default();
    assert!(
        !standby_log.contains("leading: starting the controller"),
        "the standby did not act while operator-a led"
    );
    if let Some(kib) = c.operators[0].rss_kib() {
        eprintln!(
            "figure: operator RSS (leader, after three canaries): {} MiB",
            kib / 1024
        );
    }
    c.operators[0].process.kill();
    wait_leader(c, "operator-b").await;
    let after = c
        .wait_status(
            CANARY_NS,
            "web",
            "operator-b's view of the canary",
            RECONCILE,
            |s| s.rollout.is_some(),
        )
        .await
        .rollout
        .expect("rollout");
    assert_eq!(
        (after.step, after.canary_revision.clone()),
        (before.step, before.canary_revision.clone()),
        "the standby resumed at the same step"
    );
    c.cp.kubectl_ok(&[
        "annotate",
        "hd",
        "web",
        "-n",
        CANARY_NS,
        "hermes.logos.dev/rollout=promote",
        "--overwrite",
    ]);
    c.wait_status(
        CANARY_NS,
        "web",
        "v3 promoted by the annotation",
        READY,
        |s| {
            s.rollout
                .as_ref()
                .is_some_and(|r| serde_json::to_value(r.phase).ok() == Some("Stable".into()))
        },
    )
    .await;
    let d = deployments.get("web").await.expect("web");
    assert_eq!(
        image(&d).as_deref(),
        Some("hermes-runtime:v3"),
        "promote annotation"
    );

    // `abort`: the canary goes, the stable stays.
    let (ok, out) = c.apply(CANARY_NS, &canary_resource("hermes-runtime:v4", "5m"));
    assert!(ok, "{out}");
    eventually(
        "the v4 canary",
        RECONCILE,
        || c.logs(),
        || async { (rollout_phase(c).await.as_deref() == Some("Progressing")).then_some(()) },
    )
    .await;
    c.cp.kubectl_ok(&[
        "annotate",
        "hd",
        "web",
        "-n",
        CANARY_NS,
        "hermes.logos.dev/rollout=abort",
        "--overwrite",
    ]);
    eventually(
        "v4 aborted by the annotation",
        RECONCILE,
        || c.logs(),
        || async { (rollout_phase(c).await.as_deref() == Some("Aborted")).then_some(()) },
    )
    .await;
    let d = deployments.get("web").await.expect("web");
    assert_eq!(
        image(&d).as_deref(),
        Some("hermes-runtime:v3"),
        "abort keeps the stable"
    );
    assert!(
        event_reasons(&c.cp, CANARY_NS, "web")
            .iter()
            .any(|r| r == "RolloutAborted"),
        "a RolloutAborted Event"
    );
    let (ok, failed) = (
        load.ok.load(std::sync::atomic::Ordering::Relaxed),
        load.failed.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(
        ok > 0,
        "the Service load reached the pods ({ok} ok, {failed} failed)"
    );
}

const AUTOSCALED_NS: &str = "autoscaled";

fn autoscaled_resource(image: &str) -> String {
    format!(
        r#"apiVersion: hermes.logos.dev/v1alpha1
kind: HermesDeployment
metadata:
  name: auto
spec:
  image: {image}
  replicas: 1
  cpu: {{request: 50m}}
  autoscaling:
    minReplicas: 2
    maxReplicas: 4
    targetCPUUtilizationPercent: 70
  models:
    - {{name: all-minilm-l6-v2, task: embedding}}
  rollout:
    canary:
      steps: [50, 100]
      interval: 5m
"#
    )
}

/// `spec.replicas` of the Deployment `name` and its pods that exist.
async fn replicas(c: &Cluster, name: &str) -> Option<(i32, i32)> {
    let d = c
        .api::<Deployment>(AUTOSCALED_NS)
        .get_opt(name)
        .await
        .ok()??;
    let pods = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    Some((d.spec.replicas?, pods))
}

/// Writes the stable's scale subresource, as the HPA does when its metric asks for
/// `count` pods (no metrics pipeline runs here, so the test makes that decision).
fn autoscaler_decides(c: &Cluster, count: i32) {
    c.cp.kubectl_ok(&[
        "scale",
        "deployment",
        "auto",
        "-n",
        AUTOSCALED_NS,
        &format!("--replicas={count}"),
    ]);
}

/// Scenario 5: an HPA-scaled HermesDeployment through a canary. The real HPA controller
/// accepts the operator's HPA; the operator never resets the autoscaler's count; the
/// canary is sized from the stable's current count (and follows it), the stable is not
/// inflated for it, and the promoted stable keeps the autoscaler's count.
async fn scenario_autoscaled_canary(c: &Cluster) {
    c.cp.kubectl_ok(&["create", "namespace", AUTOSCALED_NS]);
    let (ok, out) = c.apply(AUTOSCALED_NS, &autoscaled_resource("hermes-runtime:v1"));
    assert!(ok, "{out}");
    let status = c
        .wait_status(
            AUTOSCALED_NS,
            "auto",
            "auto Ready with minReplicas (2) pods, not spec.replicas (1)",
            READY,
            |s| s.phase.map(|p| p.as_str()) == Some("Ready") && s.ready_replicas == Some(2),
        )
        .await;
    assert!(status.autoscaler.is_some(), "status.autoscaler: {status:?}");
    let hpas = c.api::<HorizontalPodAutoscaler>(AUTOSCALED_NS);
    // The real HPA controller reads the target's scale through the operator's reference.
    let hpa = eventually(
        "the HPA controller able to scale the stable Deployment",
        RECONCILE,
        || c.logs(),
        || async {
            let h = hpas.get_opt("auto").await.ok()??;
            let able = h
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .any(|c| c.type_ == "AbleToScale" && c.status == "True");
            able.then_some(h)
        },
    )
    .await;
    let spec = hpa.spec;
    assert_eq!(
        (
            spec.scale_target_ref.kind.as_str(),
            spec.scale_target_ref.name.as_str()
        ),
        ("Deployment", "auto")
    );
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 4));

    // The autoscaler scales up; the operator's next applies keep its count.
    autoscaler_decides(c, 4);
    c.cp.kubectl_ok(&[
        "annotate",
        "hd",
        "auto",
        "-n",
        AUTOSCALED_NS,
        "test/touch=1",
        "--overwrite",
    ]);
    c.wait_status(AUTOSCALED_NS, "auto", "4 ready pods kept", READY, |s| {
        s.ready_replicas == Some(4)
    })
    .await;
    assert_eq!(replicas(c, "auto").await.map(|r| r.0), Some(4));

    // A change: the canary (step 50 %) is half of the 4 that run, the stable stays at 4.
    let (ok, out) = c.apply(AUTOSCALED_NS, &autoscaled_resource("hermes-runtime:v2"));
    assert!(ok, "{out}");
    eventually(
        "auto-canary with 2 pods beside a stable of 4",
        READY,
        || c.logs(),
        || async {
            let canary = replicas(c, "auto-canary").await?;
            let stable = replicas(c, "auto").await?;
            (canary == (2, 2) && stable.0 == 4).then_some(())
        },
    )
    .await;
    // The autoscaler scales the stable down mid-canary: the canary follows (50 % of 2).
    autoscaler_decides(c, 2);
    eventually(
        "auto-canary down to 1 pod after the stable went to 2",
        RECONCILE,
        || c.logs(),
        || async {
            let canary = replicas(c, "auto-canary").await?;
            let stable = replicas(c, "auto").await?;
            (canary.0 == 1 && stable.0 == 2).then_some(())
        },
    )
    .await;
    c.cp.kubectl_ok(&[
        "annotate",
        "hd",
        "auto",
        "-n",
        AUTOSCALED_NS,
        "hermes.logos.dev/rollout=promote",
        "--overwrite",
    ]);
    eventually(
        "v2 promoted, the stable keeping the autoscaler's 2 pods",
        READY,
        || c.logs(),
        || async {
            let d = c
                .api::<Deployment>(AUTOSCALED_NS)
                .get_opt("auto")
                .await
                .ok()??;
            let stable = (rollout_phase_of(c, AUTOSCALED_NS, "auto").await.as_deref()
                == Some("Stable"))
                && image(&d).as_deref() == Some("hermes-runtime:v2");
            (stable && d.spec.replicas == Some(2)).then_some(())
        },
    )
    .await;
}
