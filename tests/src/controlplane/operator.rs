//! The operator as the cluster runs it: the chart installed with `helm install` (CRD,
//! ServiceAccount, RBAC), and `hermes-operator run` as a separate process authenticated
//! as that ServiceAccount with a token from the TokenRequest API, so the chart's RBAC is
//! what it gets. The chart's own operator Deployment stays unstarted (the process
//! kubelet only runs `hermes-runtime` pods); the test starts the replicas it wants.

use super::{ControlPlane, User, write_kubeconfig};
use crate::process::Process;
use crate::{free_port, workspace_binary};
use std::path::PathBuf;
use std::process::Command;

pub const NAMESPACE: &str = "hermes-system";
pub const RELEASE: &str = "hermes-operator";
/// The ServiceAccount the chart creates (its full name for this release).
pub const SERVICE_ACCOUNT: &str = "hermes-operator";

/// `helm install` of the chart in `hermes-system`, with `prometheusUrl` when given.
pub fn helm_install(cp: &ControlPlane, prometheus_url: Option<&str>) {
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/hermes-operator");
    let chart = chart.display().to_string();
    let mut args = vec![
        "install",
        RELEASE,
        chart.as_str(),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
    ];
    let set;
    if let Some(url) = prometheus_url {
        set = format!("prometheusUrl={url}");
        args.extend(["--set", set.as_str()]);
    }
    cp.helm_ok(&args);
}

pub struct Operator {
    pub process: Process,
    pub identity: String,
    pub metrics: String,
}

impl Operator {
    /// Starts `hermes-operator run` as replica `identity`, as the chart's ServiceAccount.
    pub fn start(cp: &ControlPlane, identity: &str, prometheus_url: Option<&str>) -> Operator {
        let token = cp
            .kubectl_ok(&[
                "create",
                "token",
                SERVICE_ACCOUNT,
                "-n",
                NAMESPACE,
                "--duration=2h",
            ])
            .trim()
            .to_string();
        let kubeconfig = cp.dir.join(format!("operator-{identity}.kubeconfig"));
        write_kubeconfig(
            &kubeconfig,
            &cp.server,
            &cp.certs.ca_crt,
            &User::Token(token),
        );
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(workspace_binary("hermes-operator"));
        cmd.arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAMESPACE", NAMESPACE)
            .env("POD_NAME", identity)
            .env("HERMES_OPERATOR_METRICS_ADDR", &metrics_addr)
            .env("RUST_LOG", "info");
        if let Some(url) = prometheus_url {
            cmd.env("HERMES_OPERATOR_PROMETHEUS_URL", url);
        }
        let process = Process::spawn(cmd, &cp.dir.join(format!("operator-{identity}.log")));
        Operator {
            process,
            identity: identity.to_string(),
            metrics: format!("http://{metrics_addr}"),
        }
    }

    /// Resident set size of the process, in KiB (VmRSS).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}
