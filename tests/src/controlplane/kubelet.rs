//! The process kubelet: registers the fake Node (Ready, kept alive through its Lease in
//! kube-node-lease) and, for every Pod bound to it whose image is `hermes-runtime`, runs
//! the real `hermes-runtime` binary with the Pod's env on the Pod's own address, then
//! reports phase and readiness from the Pod's readiness probe. Pod addresses come from
//! POD_CIDR, routed to the loopback device as local (`ip route add local ... dev lo`, done
//! once by `ensure_pod_network`): the apiserver refuses 127.0.0.0/8 in EndpointSlices, and
//! with this route every Pod IP is real, bindable and reachable from this host only. What a container runtime would isolate is emulated:
//! HERMES_HOST is the Pod IP (each Pod has its "own" network), emptyDir mounts are
//! per-Pod folders, and the model directory is the test's. The image tag selects a
//! behaviour: `:faulty` adds the runtime's fault-injection env. Other images (the
//! operator's own chart Deployment) are left unstarted: the tests run the operator.

use super::NODE_NAME;
use crate::process::Process;
use crate::workspace_binary;
use chrono::Utc;
use hermes_interface::env;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Node, Pod, Secret};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const SYNC_PERIOD: Duration = Duration::from_millis(500);
const LEASE_SECONDS: i32 = 40;
const RENEW_PERIOD: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(40);
/// The Pod network: a /16 made local on `lo`, so that each Pod has an address of its own.
pub const POD_CIDR: &str = "10.245.0.0/16";
const POD_PREFIX: &str = "10.245";

/// Makes POD_CIDR local to this host (a `local` route on `lo`) unless it already is;
/// fails with what to run when the test lacks the privilege (CAP_NET_ADMIN) to do it.
pub fn ensure_pod_network() {
    let probe = format!("{POD_PREFIX}.255.254:0");
    if std::net::TcpListener::bind(&probe).is_ok() {
        return;
    }
    let out = Command::new("ip")
        .args(["route", "add", "local", POD_CIDR, "dev", "lo"])
        .output();
    let ok = std::net::TcpListener::bind(&probe).is_ok();
    assert!(
        ok,
        "the Pod network {POD_CIDR} is not local and `ip route add local {POD_CIDR} dev lo` failed ({out:?}): \
         run it once as root (the process kubelet gives each Pod an address of that range)"
    );
}

/// The `:faulty` tag's fault injection: 20 % 5xx and 600 ms of added latency.
pub const FAULTY_ENV: [(&str, &str); 2] =
    [(env::FAULT_5XX_RATE, "0.2"), (env::FAULT_LATENCY_MS, "600")];

pub struct Kubelet {
    task: JoinHandle<()>,
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        // Dropping the loop drops every Process, which kills it.
        self.task.abort();
    }
}

struct Running {
    process: Option<Process>,
    ip: String,
    ready: bool,
    restarts: i32,
    backoff: Duration,
    restart_at: Option<Instant>,
    /// Last status sent, to patch only on change.
    reported: Value,
}

struct State {
    client: kube::Client,
    dir: PathBuf,
    pods: HashMap<String, Running>,
    next_ip: u32,
    http: reqwest::Client,
}

/// Registers the Node and starts the loop. `dir` holds one folder per Pod.
pub async fn start(client: kube::Client, dir: PathBuf) -> Kubelet {
    ensure_pod_network();
    register_node(&client).await;
    let mut state = State {
        client,
        dir,
        pods: HashMap::new(),
        next_ip: 0,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client"),
    };
    let task = tokio::spawn(async move {
        let mut renewed = Instant::now();
        loop {
            if renewed.elapsed() >= RENEW_PERIOD {
                renew(&state.client).await;
                renewed = Instant::now();
            }
            if let Err(e) = state.sync().await {
                eprintln!("process kubelet: sync: {e}");
            }
            tokio::time::sleep(SYNC_PERIOD).await;
        }
    });
    Kubelet { task }
}

fn node_status() -> Value {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resources =
        json!({"cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    json!({"status": {
        "capacity": resources, "allocatable": resources,
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "process kubelet is posting ready status",
                        "lastHeartbeatTime": now, "lastTransitionTime": now}],
        "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "v0.0.0-process",
                     "containerRuntimeVersion": "process://", "kernelVersion": "", "osImage": "", "kubeProxyVersion": "",
                     "machineID": "", "systemUUID": "", "bootID": ""},
    }})
}

async fn register_node(client: &kube::Client) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}},
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create Node");
    nodes
        .patch_status(
            NODE_NAME,
            &PatchParams::default(),
            &Patch::Merge(node_status()),
        )
        .await
        .expect("Node status");
    // The TaintNodesByCondition admission plugin creates a Node with the not-ready taint;
    // the node lifecycle controller would lift it once Ready. It is not started (it would
    // also evict pods of a Node it deems gone), so the kubelet lifts it.
    nodes
        .patch(
            NODE_NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": null}})),
        )
        .await
        .expect("Node taints");
    renew(client).await;
}

/// Renews the Node's Lease (creating it the first time) and refreshes the Ready heartbeat.
async fn renew(client: &kube::Client) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": NODE_NAME},
        "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now},
    });
    let params = PatchParams::apply("process-kubelet").force();
    if let Err(e) = leases.patch(NODE_NAME, &params, &Patch::Apply(lease)).await {
        eprintln!("process kubelet: renewing the Node Lease: {e}");
    }
    let nodes: Api<Node> = Api::all(client.clone());
    if let Err(e) = nodes
        .patch_status(
            NODE_NAME,
            &PatchParams::default(),
            &Patch::Merge(node_status()),
        )
        .await
    {
        eprintln!("process kubelet: Node heartbeat: {e}");
    }
}

fn key(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn runtime_container(pod: &Pod) -> Option<&Container> {
    pod.spec.as_ref()?.containers.iter().find(|c| {
        c.image
            .as_deref()
            .is_some_and(|i| i.contains("hermes-runtime"))
    })
}

impl State {
    async fn sync(&mut self) -> Result<(), kube::Error> {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let list = pods
            .list(&ListParams::default().fields(&format!("spec.nodeName={NODE_NAME}")))
            .await?;
        let mut seen = Vec::new();
        for pod in &list.items {
            let uid = key(pod);
            seen.push(uid.clone());
            let Some(container) = runtime_container(pod) else {
                continue;
            };
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            if pod.metadata.deletion_timestamp.is_some() {
                // The container stops (SIGKILL on drop), then the kubelet confirms the delete.
                self.pods.remove(&uid);
                let dp = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(kube::api::Preconditions {
                        uid: Some(uid),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                let _ = api.delete(&name, &dp).await;
                continue;
            }
            if !self.pods.contains_key(&uid) {
                self.next_ip += 1;
                let ip = format!(
                    "{POD_PREFIX}.{}.{}",
                    self.next_ip / 250,
                    self.next_ip % 250 + 1
                );
                self.pods.insert(
                    uid.clone(),
                    Running {
                        process: None,
                        ip,
                        ready: false,
                        restarts: 0,
                        backoff: Duration::from_secs(2),
                        restart_at: Some(Instant::now()),
                        reported: Value::Null,
                    },
                );
            }
            let container = container.clone();
            let mut waiting: Option<(String, String)> = None;
            // Start (or restart after back-off) the process.
            let due = self
                .pods
                .get(&uid)
                .and_then(|r| r.restart_at)
                .is_some_and(|t| Instant::now() >= t);
            if due {
                let ip = self.pods[&uid].ip.clone();
                match self.spawn(pod, &container, &ip).await {
                    Ok(process) => {
                        let r = self.pods.get_mut(&uid).expect("pod entry");
                        r.process = Some(process);
                        r.restart_at = None;
                    }
                    Err(message) => {
                        let r = self.pods.get_mut(&uid).expect("pod entry");
                        r.restart_at = Some(Instant::now() + Duration::from_secs(2));
                        waiting = Some(("CreateContainerConfigError".into(), message));
                    }
                }
            }
            let probe_url = readiness_url(&container, &self.pods[&uid].ip);
            let r = self.pods.get_mut(&uid).expect("pod entry");
            if let Some(p) = r.process.as_mut()
                && let Some(status) = p.exited()
            {
                eprintln!(
                    "process kubelet: {ns}/{name} exited with {status}:\n{}",
                    p.logs()
                );
                r.process = None;
                r.restarts += 1;
                r.restart_at = Some(Instant::now() + r.backoff);
                r.backoff = (r.backoff * 2).min(MAX_BACKOFF);
            }
            if r.process.is_none() && waiting.is_none() {
                waiting = Some((
                    "CrashLoopBackOff".into(),
                    "hermes-runtime exited; restarting after back-off".into(),
                ));
            }
            r.ready = r.process.is_some()
                && self
                    .http
                    .get(&probe_url)
                    .send()
                    .await
                    .is_ok_and(|resp| resp.status() == 200);
            let status = pod_status(pod, &container, r, waiting);
            if status != r.reported {
                match api
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": status.clone()})),
                    )
                    .await
                {
                    Ok(_) => r.reported = status,
                    Err(e) => eprintln!("process kubelet: status of {ns}/{name}: {e}"),
                }
            }
        }
        self.pods.retain(|uid, _| seen.contains(uid));
        Ok(())
    }

    /// Starts `hermes-runtime` for the Pod, or says why its env cannot be resolved.
    async fn spawn(&self, pod: &Pod, container: &Container, ip: &str) -> Result<Process, String> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pod_dir = self.dir.join(format!("{ns}-{name}"));
        std::fs::create_dir_all(&pod_dir).map_err(|e| e.to_string())?;
        // emptyDir mounts become folders of the Pod's own.
        let mounts: Vec<(String, PathBuf)> = container
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| (m.mount_path.clone(), pod_dir.join("volumes").join(&m.name)))
            .collect();
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for var in container.env.iter().flatten() {
            let value = match (&var.value, &var.value_from) {
                (Some(v), _) => Some(v.clone()),
                (None, Some(from)) => self.resolve(pod, ip, &ns, from).await?,
                (None, None) => Some(String::new()),
            };
            if let Some(mut v) = value {
                for (path, dir) in &mounts {
                    if let Some(rest) = v.strip_prefix(path.as_str()) {
                        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                        v = format!("{}{rest}", dir.display());
                    }
                }
                vars.insert(var.name.clone(), v);
            }
        }
        vars.insert(env::HOST.into(), ip.into());
        vars.entry(env::MODEL_DIR.into())
            .or_insert_with(|| model_dir().display().to_string());
        if container
            .image
            .as_deref()
            .is_some_and(|i| i.ends_with(":faulty"))
        {
            for (k, v) in FAULTY_ENV {
                vars.insert(k.into(), v.into());
            }
        }
        let mut cmd = Command::new(workspace_binary("hermes-runtime"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&vars)
            .current_dir(&pod_dir);
        let n = std::fs::read_dir(&pod_dir).map(|d| d.count()).unwrap_or(0);
        Ok(Process::spawn(
            cmd,
            &pod_dir.join(format!("runtime-{n}.log")),
        ))
    }

    async fn resolve(
        &self,
        pod: &Pod,
        ip: &str,
        ns: &str,
        from: &k8s_openapi::api::core::v1::EnvVarSource,
    ) -> Result<Option<String>, String> {
        if let Some(f) = &from.field_ref {
            let meta = &pod.metadata;
            let path = f.field_path.as_str();
            let indexed = |prefix: &str, map: &Option<BTreeMap<String, String>>| {
                path.strip_prefix(prefix)
                    .and_then(|k| k.strip_suffix("']"))
                    .and_then(|k| map.as_ref()?.get(k).cloned())
            };
            return Ok(match path {
                "metadata.name" => meta.name.clone(),
                "metadata.namespace" => meta.namespace.clone(),
                "metadata.uid" => meta.uid.clone(),
                "status.podIP" => Some(ip.to_string()),
                "status.hostIP" => Some("127.0.0.1".into()),
                "spec.nodeName" => Some(NODE_NAME.into()),
                p if p.starts_with("metadata.labels['") => {
                    indexed("metadata.labels['", &meta.labels)
                }
                p if p.starts_with("metadata.annotations['") => {
                    indexed("metadata.annotations['", &meta.annotations)
                }
                other => {
                    return Err(format!(
                        "fieldRef {other} is not supported by the process kubelet"
                    ));
                }
            });
        }
        if let Some(s) = &from.secret_key_ref {
            let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
            let value = secrets
                .get_opt(&s.name)
                .await
                .map_err(|e| e.to_string())?
                .and_then(|sec| {
                    sec.data?
                        .get(&s.key)
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                });
            return match value {
                Some(v) => Ok(Some(v)),
                None if s.optional == Some(true) => Ok(None),
                None => Err(format!("secret {:?} key {:?} not found", s.name, s.key)),
            };
        }
        if let Some(c) = &from.config_map_key_ref {
            let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
            let value = maps
                .get_opt(&c.name)
                .await
                .map_err(|e| e.to_string())?
                .and_then(|m| m.data?.get(&c.key).cloned());
            return match value {
                Some(v) => Ok(Some(v)),
                None if c.optional == Some(true) => Ok(None),
                None => Err(format!("configmap {:?} key {:?} not found", c.name, c.key)),
            };
        }
        Err("an env source the process kubelet does not support".into())
    }
}

/// The models the runtime pods load: the test's model directory.
fn model_dir() -> PathBuf {
    std::env::var(env::MODEL_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

/// `http://IP:PORT/PATH` of the container's readiness probe (named ports resolved).
fn readiness_url(container: &Container, ip: &str) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let get = container
        .readiness_probe
        .as_ref()
        .and_then(|p| p.http_get.clone());
    let path = get
        .as_ref()
        .and_then(|g| g.path.clone())
        .unwrap_or_else(|| "/readyz".into());
    let port = match get.map(|g| g.port) {
        Some(IntOrString::Int(p)) => p,
        Some(IntOrString::String(name)) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port)
            .unwrap_or(i32::from(hermes_interface::probes::HTTP_PORT)),
        None => i32::from(hermes_interface::probes::HTTP_PORT),
    };
    format!("http://{ip}:{port}{path}")
}

/// The Pod status the kubelet reports.
fn pod_status(
    pod: &Pod,
    container: &Container,
    r: &Running,
    waiting: Option<(String, String)>,
) -> Value {
    let started = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let ready = if r.ready { "True" } else { "False" };
    let cond = |t: &str, s: &str| json!({"type": t, "status": s, "lastTransitionTime": started});
    let state = match &waiting {
        Some((reason, message)) => json!({"waiting": {"reason": reason, "message": message}}),
        None => json!({"running": {"startedAt": started}}),
    };
    json!({
        "phase": "Running",
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": r.ip,
        "podIPs": [{"ip": r.ip}],
        "startTime": started,
        "conditions": [cond("PodScheduled", "True"), cond("Initialized", "True"),
                       cond("ContainersReady", ready), cond("Ready", ready)],
        "containerStatuses": [{
            "name": container.name, "image": container.image.clone().unwrap_or_default(), "imageID": "",
            "ready": r.ready, "restartCount": r.restarts, "started": r.process.is_some(), "state": state,
        }],
    })
}
