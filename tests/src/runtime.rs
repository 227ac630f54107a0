//! The real `hermes-runtime` binary on a port the OS picks, with no models (an empty
//! model directory: every route that needs no model works, and it is Ready at once).

use crate::process::Process;
use crate::{scratch_dir, workspace_binary};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

pub const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Runtime {
    pub process: Process,
    pub port: u16,
    pub base: String,
}

impl Runtime {
    /// Starts the runtime with `envs` and waits (bounded) until `/readyz` answers 200.
    pub async fn start(name: &str, envs: &[(&str, &str)]) -> Runtime {
        let dir = scratch_dir(&format!("runtime-{name}"));
        let models = dir.join("models");
        std::fs::create_dir_all(&models).expect("models dir");
        let mut cmd = Command::new(workspace_binary("hermes-runtime"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HERMES_HOST", "127.0.0.1")
            .env("HERMES_PORT", "0")
            .env("HERMES_MODEL_DIR", &models)
            .env("HERMES_LOG_FORMAT", "json")
            .envs(envs.iter().copied());
        let mut process = Process::spawn(cmd, &dir.join("runtime.log"));
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let log = std::fs::read_to_string(&process.log).unwrap_or_default();
            if let Some(port) = listening_port(&log) {
                break port;
            }
            if let Some(status) = process.exited() {
                panic!(
                    "hermes-runtime {name} exited with {status}:\n{}",
                    process.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "hermes-runtime {name}: no \"listening\" line within {START_TIMEOUT:?}:\n{}",
                process.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let runtime = Runtime {
            process,
            port,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        loop {
            let ok = client
                .get(format!("{}/readyz", runtime.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "hermes-runtime {name} not ready within {START_TIMEOUT:?}:\n{}",
                runtime.process.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        runtime
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// The port of the JSON "listening" log line, once it has been written.
fn listening_port(log: &str) -> Option<u16> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|entry| entry["message"] == "listening" || entry["fields"]["message"] == "listening")
        .and_then(|entry| {
            entry["addr"]
                .as_str()
                .or_else(|| entry["fields"]["addr"].as_str())?
                .parse::<SocketAddr>()
                .ok()
        })
        .map(|addr| addr.port())
}
