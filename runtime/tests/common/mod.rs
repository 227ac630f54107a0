//! Harness for HTTP tests against the real `hermes-runtime` binary with the real
//! weights: spawn on a port the OS picks, wait (bounded) for it and for readiness,
//! and kill the process on drop (and if the test process dies).

#![allow(dead_code)]

pub mod milvus;
pub mod sophia;

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Upper bound for the server to open its port.
pub const PORT_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for models to load (debug build on a busy 2-core machine).
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound for any single HTTP request of a test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub const MODEL_ID: &str = "all-minilm-l6-v2";

/// The weights laid out by `make models`; panics with instructions when missing.
pub fn models_dir() -> PathBuf {
    installed_model_dir(MODEL_ID, "model.onnx");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    dir.canonicalize().unwrap_or(dir)
}

/// The folder `make models` laid out for `id`; panics with instructions when its
/// `weights` file is missing, so a test fails clearly instead of skipping.
pub fn installed_model_dir(id: &str, weights: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(id);
    let file = dir.join(weights);
    assert!(
        file.is_file(),
        "model weights missing: {} not found. Run `make models` at the repository root first.",
        file.display()
    );
    dir
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hermes-test-{name}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn command(envs: &[(&str, &str)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hermes-runtime"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERMES_HOST", "127.0.0.1")
        .env("HERMES_MODEL_DIR", models_dir())
        .env("HERMES_LOG_FORMAT", "json")
        // Only the embedder unless a test declares its models: every other model
        // adds seconds of load and warm-up to each server start.
        .env("HERMES_MODELS", "all-minilm-l6-v2")
        // Rate limits off unless a test sets them: tests send bursts from one address.
        .env("HERMES_RATE_LIMIT_LLM_PER_MINUTE", "0")
        .env("HERMES_RATE_LIMIT_PER_MINUTE", "0")
        // Each server gets its own outbox; tests that restart one pass theirs.
        .env("HERMES_OUTBOX_DIR", log.with_file_name("outbox"))
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(File::create(log).expect("log file")))
        .stderr(Stdio::from(
            File::create(log.with_extension("stderr")).expect("stderr file"),
        ));
    // The server dies with the test process, even when the test is killed.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub base: String,
    pub log: PathBuf,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts the server on a port the OS picks (`HERMES_PORT=0`, so parallel tests
    /// never race for one) and learns the port from its "listening" log line.
    pub async fn start(envs: &[(&str, &str)]) -> Server {
        let mut all: Vec<(&str, &str)> = vec![("HERMES_PORT", "0")];
        all.extend_from_slice(envs);
        let log = scratch_dir("server").join("server.log");
        let child = command(&all, &log).spawn().expect("spawn hermes-runtime");
        let mut server = Server {
            child,
            port: 0,
            base: String::new(),
            log,
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("client"),
        };
        server.port = server.wait_for_listening().await;
        server.base = format!("http://127.0.0.1:{}", server.port);
        server
    }

    /// Starts the server and waits until `/readyz` answers 200.
    pub async fn start_ready(envs: &[(&str, &str)]) -> Server {
        let server = Server::start(envs).await;
        server.wait_ready().await;
        server
    }

    async fn wait_for_listening(&mut self) -> u16 {
        let deadline = Instant::now() + PORT_TIMEOUT;
        loop {
            if let Some(port) =
                listening_port(&std::fs::read_to_string(&self.log).unwrap_or_default())
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "hermes-runtime exited early with {status}:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no \"listening\" log line within {PORT_TIMEOUT:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let status = self
                .client
                .get(self.url("/readyz"))
                .send()
                .await
                .map(|r| r.status());
            if matches!(status, Ok(s) if s == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not ready within {READY_TIMEOUT:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &'static str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs `{"text": text}` to /embed_text and returns the unit vector.
    pub async fn embed(&self, text: &str) -> Vec<f32> {
        let r = self
            .post_json("/embed_text", &serde_json::json!({ "text": text }))
            .await;
        assert_eq!(r.status(), 200, "embed {text:?}");
        vector_of(&r.json::<Value>().await.expect("json"))
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits (bounded) for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit within {timeout:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("stderr")).unwrap_or_default();
        format!("--- stdout ---\n{out}\n--- stderr ---\n{err}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of the "listening" log line (JSON, or text: `listening addr=...`), once written.
fn listening_port(log: &str) -> Option<u16> {
    let text = log
        .lines()
        .filter_map(|line| line.split_once(" listening addr=")?.1.split(' ').next())
        .find_map(|addr| addr.parse::<SocketAddr>().ok());
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|entry| entry["message"] == "listening")
        .and_then(|entry| entry["addr"].as_str()?.parse::<SocketAddr>().ok())
        .or(text)
        .map(|addr| addr.port())
}

/// Runs the binary with `envs` to completion (bounded) and returns (status, stderr).
pub fn run_to_exit(envs: &[(&str, &str)], timeout: Duration) -> (ExitStatus, String) {
    let (status, _, stderr) = run_with_args(&[], envs, timeout);
    (status, stderr)
}

/// Runs the binary with `args` and `envs` to completion (bounded); returns
/// (status, stdout, stderr).
#[allow(dead_code)]
pub fn run_with_args(
    args: &[&str],
    envs: &[(&str, &str)],
    timeout: Duration,
) -> (ExitStatus, String, String) {
    let mut all: Vec<(&str, &str)> = vec![("HERMES_PORT", "0")];
    all.extend_from_slice(envs);
    let log = scratch_dir("exit").join("server.log");
    let mut child = command(&all, &log)
        .args(args)
        .spawn()
        .expect("spawn hermes-runtime");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hermes-runtime did not exit within {timeout:?} with {envs:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&log).unwrap_or_default();
    let stderr = std::fs::read_to_string(log.with_extension("stderr")).unwrap_or_default();
    (status, stdout, stderr)
}

pub fn vector_of(body: &Value) -> Vec<f32> {
    body["embedding"]
        .as_array()
        .expect("embedding array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
