//! A real OTLP/HTTP traces receiver on 127.0.0.1: `runtime/tests/otlp_receiver.py` (the
//! official `opentelemetry-proto` decoding) run by the project venv's Python; it writes
//! one JSON line per span received, with the span's resource and the export's headers.

use crate::process::Process;
use crate::scratch_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Receiver {
    pub process: Process,
    pub port: u16,
    spans: PathBuf,
}

impl Receiver {
    /// Starts the receiver and waits (bounded) until it listens.
    pub fn start() -> Receiver {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let venv = std::env::var_os("HERMES_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv"));
        let python = venv.join("bin/python");
        assert!(
            python.is_file(),
            "{} missing: run `make tools`",
            python.display()
        );
        let dir = scratch_dir("otlp");
        let spans = dir.join("spans.jsonl");
        let mut cmd = Command::new(python);
        cmd.arg(root.join("runtime/tests/otlp_receiver.py"))
            .arg(&spans);
        let mut process = Process::spawn(cmd, &dir.join("receiver.log"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let out = std::fs::read_to_string(&process.log).unwrap_or_default();
            if let Some(port) = out
                .lines()
                .find_map(|l| l.strip_prefix("listening ")?.trim().parse().ok())
            {
                break port;
            }
            if let Some(status) = process.exited() {
                panic!(
                    "otlp_receiver.py exited with {status} (its packages come from `make tools`):\n{}",
                    process.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "otlp_receiver.py not listening within 30 s:\n{}",
                process.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Receiver {
            process,
            port,
            spans,
        }
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` of this receiver.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans received so far.
    pub fn spans(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.spans)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}
