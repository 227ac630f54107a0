//! A real Milvus server for tests: the Milvus-local 2.5.1 binary from the
//! `milvus-lite` wheel (`make tools` installs it into the venv). It serves gRPC on
//! one port, binds only 127.0.0.1, is ready in a fraction of a second, and keeps
//! its data in one folder, so a test can kill it and start it again on the same
//! data and port. Killed on drop.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use milvus::v2::prelude::{ClientV2, ConnectConfig, ConsistencyLevel, QueryRequest, RetryConfig};

/// Upper bound for the server to accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The Milvus-local binary inside the project venv.
pub fn binary() -> PathBuf {
    let venv = std::env::var_os("HERMES_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let lib = std::fs::read_dir(venv.join("lib"))
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("site-packages/milvus_lite/lib"))
        .find(|lib| lib.join("milvus").is_file());
    lib.map(|l| l.join("milvus")).unwrap_or_else(|| {
        panic!(
            "Milvus-local binary not found under {}/lib/python*/site-packages/milvus_lite/lib/: run `make tools` (scripts/tools.sh installs milvus-lite==2.5.1)",
            venv.display()
        )
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct MilvusServer {
    child: Option<Child>,
    pub port: u16,
    pub data: PathBuf,
}

impl MilvusServer {
    /// Starts a server on a fresh port with a fresh data folder.
    pub async fn start() -> Self {
        let data = super::scratch_dir("milvus");
        Self::start_at(free_port(), data).await
    }

    /// Starts a server on `port` with the data in `data` (reused across restarts).
    pub async fn start_at(port: u16, data: PathBuf) -> Self {
        let mut server = Self {
            child: None,
            port,
            data,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let bin = binary();
        let lib = bin.parent().expect("lib dir").to_path_buf();
        let log = self.data.join("milvus.log");
        let mut cmd = Command::new(&bin);
        cmd.arg(self.data.join("milvus.db"))
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("ERROR")
            .env("LD_LIBRARY_PATH", &lib)
            .stdin(Stdio::null())
            .stdout(Stdio::from(File::create(&log).expect("milvus log")))
            .stderr(Stdio::from(
                File::options().append(true).open(&log).expect("milvus log"),
            ));
        // SAFETY: prctl in the child before exec; dies with the test process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn milvus");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "milvus exited with {status}:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "milvus did not listen within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child = Some(child);
    }

    /// Sends `signal` to the server (SIGSTOP freezes it: calls hang until their timeout).
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of a child this struct owns.
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MILVUS_HOST", "127.0.0.1".to_owned()),
            ("MILVUS_PORT", self.port.to_string()),
        ]
    }

    pub async fn client(&self) -> ClientV2 {
        let config = ConnectConfig::new()
            .uri(format!("http://127.0.0.1:{}", self.port))
            .connect_timeout(Duration::from_secs(10))
            .rpc_timeout(Duration::from_secs(30))
            .retry(RetryConfig::new().max_attempts(3));
        ClientV2::new(&config).await.expect("milvus client")
    }
}

impl Drop for MilvusServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The ids of the rows of `collection` whose text is `text` (strong consistency).
pub async fn ids_with_text(client: &ClientV2, collection: &str, text: &str) -> Vec<String> {
    let response = client
        .query(
            QueryRequest::builder()
                .collection_name(collection)
                .filter(format!("text == {}", serde_json::json!(text)))
                .output_fields(["embedding_id"])
                .limit(100)
                .consistency_level(ConsistencyLevel::Strong)
                .build()
                .expect("query request"),
        )
        .await
        .expect("query");
    let mut ids = Vec::new();
    for row in response.results().rows().expect("rows") {
        ids.push(
            row.get_str("embedding_id")
                .expect("embedding_id")
                .to_owned(),
        );
    }
    ids
}

/// How many rows of `collection` carry each of `ids` (strong consistency), as
/// (found ids with their count). Queries in chunks to keep filters short.
pub async fn count_ids(
    client: &ClientV2,
    collection: &str,
    ids: &[String],
) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for chunk in ids.chunks(200) {
        let list = chunk
            .iter()
            .map(|id| format!("\"{id}\""))
            .collect::<Vec<_>>()
            .join(",");
        let response = client
            .query(
                QueryRequest::builder()
                    .collection_name(collection)
                    .filter(format!("embedding_id in [{list}]"))
                    .output_fields(["embedding_id"])
                    .limit(16_384)
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()
                    .expect("query request"),
            )
            .await
            .expect("query");
        for row in response.results().rows().expect("rows") {
            let id = row
                .get_str("embedding_id")
                .expect("embedding_id")
                .to_owned();
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

/// Polls `check` every 100 ms until it returns `Some`, at most `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/health`'s Milvus entry.
pub async fn milvus_health(server: &super::Server) -> serde_json::Value {
    let health: serde_json::Value = server
        .get("/health")
        .await
        .json()
        .await
        .expect("health json");
    health["dependencies"]["milvus"].clone()
}

/// Waits until the runtime reports Milvus healthy (collection ensured).
pub async fn wait_milvus_healthy(server: &super::Server, timeout: Duration) {
    eventually("milvus healthy in /health", timeout, || async {
        let m = milvus_health(server).await;
        (m["status"] == "healthy").then_some(())
    })
    .await;
}

/// Waits until the runtime's Milvus outbox is empty.
pub async fn wait_outbox_drained(server: &super::Server, timeout: Duration) {
    eventually("the Milvus outbox to drain", timeout, || async {
        let m = milvus_health(server).await;
        (m["details"]["outbox_depth"] == 0).then_some(())
    })
    .await;
}
