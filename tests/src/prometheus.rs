//! A real Prometheus (the Debian package, `make tools` installs it) on 127.0.0.1 with a
//! 1 s scrape of static targets, each carrying the `namespace` and `revision` labels that
//! the operator's queries select on (in a cluster, relabelling from the pod does that).

use crate::process::Process;
use crate::{free_port, scratch_dir};
use std::process::Command;
use std::time::{Duration, Instant};

pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One scrape target: `host:port` with its labels.
pub struct Target<'a> {
    pub addr: String,
    pub namespace: &'a str,
    pub revision: &'a str,
}

pub struct Prometheus {
    pub process: Process,
    pub url: String,
}

/// The binary: `$PROMETHEUS` or `prometheus` on the PATH, else a clear failure.
fn binary() -> String {
    if let Ok(p) = std::env::var("PROMETHEUS") {
        return p;
    }
    let found = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| std::path::Path::new(d).join("prometheus"))
        .find(|p| p.is_file());
    match found {
        Some(p) => p.display().to_string(),
        None => panic!(
            "prometheus not found on PATH: run `make tools` (scripts/tools.sh installs the Debian package)"
        ),
    }
}

/// The configuration file for `targets`.
pub fn config(targets: &[Target<'_>]) -> String {
    let mut out = format!(
        "global:\n  scrape_interval: {s}s\n  evaluation_interval: {s}s\nscrape_configs:\n  - job_name: hermes\n    metrics_path: /metrics\n    static_configs:\n",
        s = SCRAPE_INTERVAL.as_secs()
    );
    for t in targets {
        out.push_str(&format!(
            "      - targets: [\"{}\"]\n        labels: {{namespace: \"{}\", revision: \"{}\"}}\n",
            t.addr, t.namespace, t.revision
        ));
    }
    out
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` and waits (bounded) until it is ready.
    pub async fn start(targets: &[Target<'_>]) -> Prometheus {
        Prometheus::start_with_config(&binary(), &config(targets), free_port()).await
    }

    /// Starts the Prometheus `binary` with the configuration file `yaml` (e.g. Kubernetes
    /// service discovery) on `port` and waits (bounded) until it is ready.
    pub async fn start_with_config(binary: &str, yaml: &str, port: u16) -> Prometheus {
        let dir = scratch_dir("prometheus");
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, yaml).expect("prometheus.yml");
        let mut cmd = Command::new(binary);
        cmd.arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        let mut process = Process::spawn(cmd, &dir.join("prometheus.log"));
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = client
                .get(format!("{url}/-/ready"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                break;
            }
            if let Some(status) = process.exited() {
                panic!("prometheus exited with {status}:\n{}", process.logs());
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready within {START_TIMEOUT:?}:\n{}",
                process.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Prometheus { process, url }
    }

    /// Waits (bounded by `timeout`) until `promql` returns a sample; false on timeout.
    pub async fn wait_for_sample(&self, promql: &str, timeout: Duration) -> bool {
        let Ok(client) = hermes_operator::analysis::prometheus::Prometheus::standalone(&self.url)
        else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(v)) = client.query(promql).await
                && !v.is_nan()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }
}
