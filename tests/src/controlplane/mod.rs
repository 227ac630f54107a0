//! A real Kubernetes control plane on 127.0.0.1 for the operator's tests: etcd,
//! kube-apiserver (RBAC on), kube-controller-manager and kube-scheduler from the binary
//! `scripts/control-plane.sh` builds from the k8s.io/kubernetes Go module, plus a fake
//! Node whose pods the process kubelet (`kubelet.rs`) runs as real `hermes-runtime`
//! processes. Everything dies with the test.

pub mod certs;
pub mod kubelet;
pub mod operator;
pub mod service_load;
pub mod wait;

use crate::process::Process;
use crate::{free_port, scratch_dir};
use certs::Certs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The Node the process kubelet registers and runs pods for.
pub const NODE_NAME: &str = "hermes-node";

pub struct ControlPlane {
    pub dir: PathBuf,
    pub certs: Certs,
    pub server: String,
    /// kubeconfig of the `system:masters` admin (the test's kubectl, helm, controllers).
    pub admin_kubeconfig: PathBuf,
    pub client: kube::Client,
    // Dropped (killed) in reverse order of start.
    pub scheduler: Process,
    pub controller_manager: Process,
    pub apiserver: Process,
    pub etcd: Process,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Kept after a failure for its logs; removed after a pass (about 130 MB a run,
        // which would pile up in /tmp on a CI machine).
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The control-plane binary: `$HERMES_CONTROL_PLANE`, else the default release that
/// `scripts/control-plane.sh` (run by `make tools`) links under the cache.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("HERMES_CONTROL_PLANE") {
        return PathBuf::from(p);
    }
    let bin = cache_dir().join("control-plane/bin/hermes-control-plane");
    assert!(
        bin.is_file(),
        "{} not found: build it with `scripts/control-plane.sh` (`make tools` runs it; a cold build takes ~25 min)",
        bin.display()
    );
    bin
}

/// A Prometheus with Kubernetes service discovery (the Debian package has none):
/// `$HERMES_PROMETHEUS_K8S`, else the one `scripts/control-plane.sh` builds from the
/// github.com/prometheus/prometheus Go module into the cache.
pub fn prometheus_binary() -> String {
    if let Ok(p) = std::env::var("HERMES_PROMETHEUS_K8S") {
        return p;
    }
    let bin = cache_dir().join("control-plane/bin/prometheus");
    assert!(
        bin.is_file(),
        "{} not found: build it with `scripts/control-plane.sh` (`make tools` runs it)",
        bin.display()
    );
    bin.display().to_string()
}

fn cache_dir() -> PathBuf {
    std::env::var("HERMES_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/hermes")
        })
}

/// A kubeconfig for `server`, trusting `ca`, as `user` (client certificate or token).
pub fn write_kubeconfig(path: &Path, server: &str, ca: &Path, user: &User) {
    let user = match user {
        User::Cert { crt, key } => format!(
            "    client-certificate: {}\n    client-key: {}\n",
            crt.display(),
            key.display()
        ),
        User::Token(token) => format!("    token: {token}\n"),
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority: {}\nusers:\n- name: user\n  user:\n{user}contexts:\n- name: test\n  context:\n    cluster: test\n    user: user\ncurrent-context: test\n",
        ca.display()
    );
    std::fs::write(path, text).expect("kubeconfig");
}

pub enum User {
    Cert { crt: PathBuf, key: PathBuf },
    Token(String),
}

pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    let config = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
            .await
            .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

async fn wait_tcp(addr: &str, process: &mut Process, what: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Some(status) = process.exited() {
            panic!("{what} exited with {status}:\n{}", process.logs());
        }
        assert!(
            Instant::now() < deadline,
            "{what} not listening on {addr} within {START_TIMEOUT:?}:\n{}",
            process.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl ControlPlane {
    /// Starts etcd, the apiserver (waits for /readyz), the controller manager and the
    /// scheduler. The Node and its kubelet are started separately (`kubelet::start`).
    pub async fn start() -> ControlPlane {
        let bin = binary();
        let dir = scratch_dir("control-plane");
        let certs = Certs::generate(&dir.join("pki"));

        let (etcd_port, peer_port) = (free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let mut cmd = Command::new(&bin);
        cmd.arg("etcd")
            .arg(dir.join("etcd"))
            .arg(&etcd_url)
            .arg(format!("http://127.0.0.1:{peer_port}"));
        let mut etcd = Process::spawn(cmd, &dir.join("etcd.log"));
        wait_tcp(&format!("127.0.0.1:{etcd_port}"), &mut etcd, "etcd").await;

        let port = free_port();
        let server = format!("https://127.0.0.1:{port}");
        let mut cmd = Command::new(&bin);
        cmd.arg("kube-apiserver")
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            // The `kubernetes` Service's endpoints would be 127.0.0.1, which the apiserver refuses.
            .arg("--endpoint-reconciler-type=none")
            .arg(format!("--secure-port={port}"))
            .arg(format!("--tls-cert-file={}", certs.server_crt.display()))
            .arg(format!(
                "--tls-private-key-file={}",
                certs.server_key.display()
            ))
            .arg(format!("--client-ca-file={}", certs.ca_crt.display()))
            .arg("--authorization-mode=RBAC")
            .arg("--service-account-issuer=https://kubernetes.default.svc")
            .arg(format!(
                "--service-account-key-file={}",
                certs.sa_pub.display()
            ))
            .arg(format!(
                "--service-account-signing-key-file={}",
                certs.sa_key.display()
            ))
            .arg("--service-cluster-ip-range=10.96.0.0/16")
            .arg(format!(
                "--cert-dir={}",
                dir.join("apiserver-certs").display()
            ))
            .arg("--allow-privileged=true")
            .arg("--profiling=false")
            .arg("--v=0");
        let mut apiserver = Process::spawn(cmd, &dir.join("apiserver.log"));
        wait_tcp(
            &format!("127.0.0.1:{port}"),
            &mut apiserver,
            "kube-apiserver",
        )
        .await;

        let admin_kubeconfig = dir.join("admin.kubeconfig");
        write_kubeconfig(
            &admin_kubeconfig,
            &server,
            &certs.ca_crt,
            &User::Cert {
                crt: certs.admin_crt.clone(),
                key: certs.admin_key.clone(),
            },
        );
        let client = client_for(&admin_kubeconfig).await;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("request");
            match client.request_text(req).await {
                Ok(body) if body.trim() == "ok" => break,
                other => {
                    if let Some(status) = apiserver.exited() {
                        panic!("kube-apiserver exited with {status}:\n{}", apiserver.logs());
                    }
                    assert!(
                        Instant::now() < deadline,
                        "kube-apiserver not ready within {START_TIMEOUT:?} (last: {other:?}):\n{}",
                        apiserver.logs()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }

        let mut cmd = Command::new(&bin);
        cmd.arg("kube-controller-manager")
            .arg(format!("--kubeconfig={}", admin_kubeconfig.display()))
            .arg("--leader-elect=false")
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={}", free_port()))
            .arg(format!("--root-ca-file={}", certs.ca_crt.display()))
            .arg(format!("--service-account-private-key-file={}", certs.sa_key.display()))
            .arg(
                "--controllers=garbage-collector-controller,deployment-controller,replicaset-controller,\
                 endpointslice-controller,disruption-controller,serviceaccount-controller,\
                 serviceaccount-token-controller,root-ca-certificate-publisher-controller,namespace-controller,\
                 horizontal-pod-autoscaler-controller",
            )
            // The HPA controller acts on what the operator renders; no metrics API runs here
            // (no metrics-server), so it keeps the count inside min..max and nothing more.
            .arg("--horizontal-pod-autoscaler-sync-period=2s")
            .arg("--concurrent-gc-syncs=5")
            .arg("--v=0");
        let controller_manager = Process::spawn(cmd, &dir.join("controller-manager.log"));

        let mut cmd = Command::new(&bin);
        cmd.arg("kube-scheduler")
            .arg(format!("--kubeconfig={}", admin_kubeconfig.display()))
            .arg(format!(
                "--authentication-kubeconfig={}",
                admin_kubeconfig.display()
            ))
            .arg(format!(
                "--authorization-kubeconfig={}",
                admin_kubeconfig.display()
            ))
            .arg("--leader-elect=false")
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={}", free_port()))
            .arg("--v=0");
        let scheduler = Process::spawn(cmd, &dir.join("scheduler.log"));

        ControlPlane {
            dir,
            certs,
            server,
            admin_kubeconfig,
            client,
            scheduler,
            controller_manager,
            apiserver,
            etcd,
        }
    }

    /// `kubectl --kubeconfig <admin> ARGS`: (success, stdout, stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        self.kubectl_stdin(args, None)
    }

    /// Like `kubectl`, with `stdin` piped in (`-f -`).
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        run_tool("kubectl", &self.admin_kubeconfig, args, stdin)
    }

    /// `kubectl` that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.kubectl(args);
        assert!(ok, "kubectl {args:?} failed: {err}\n{out}");
        out
    }

    /// `helm --kubeconfig <admin> ARGS` that must succeed; its stdout.
    pub fn helm_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = run_tool("helm", &self.admin_kubeconfig, args, None);
        assert!(ok, "helm {args:?} failed: {err}\n{out}");
        out
    }

    /// The logs of every control-plane process, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "=== kube-apiserver ===\n{}\n=== kube-controller-manager ===\n{}\n=== kube-scheduler ===\n{}",
            self.apiserver.logs(),
            self.controller_manager.logs(),
            self.scheduler.logs()
        )
    }
}

fn run_tool(
    tool: &str,
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(tool);
    cmd.arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("{tool}: {e} (run `make tools`: scripts/tools.sh installs helm and kubectl)")
    });
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
