//! Shared harness for cross-crate tests: the workspace's binaries (built by
//! `cargo nextest run --workspace`), real processes on 127.0.0.1 that die with the test
//! (killed on drop, and by the kernel if the test process dies), bounded waits.

pub mod audio;
pub mod cgroup;
pub mod controlplane;
pub mod load;
pub mod otlp;
pub mod process;
pub mod prometheus;
pub mod rendered;
pub mod runtime;

use std::path::PathBuf;

/// `target/<profile>/<name>`: the binaries sit next to the `deps/` folder this test
/// executable runs from. Panics with the command that builds them when missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} not found: build it first (`cargo build -p {name}`, or run the tests with `cargo nextest run --workspace`, which builds it)",
        bin.display()
    );
    bin
}

/// Where `make models` put the models (`HERMES_MODEL_DIR`, else the workspace's
/// `models/`); panics naming the first of `ids` missing there.
pub fn model_dir(ids: &[&str]) -> PathBuf {
    let dir = std::env::var_os("HERMES_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
    for id in ids {
        assert!(
            dir.join(id).is_dir(),
            "{} has no {id}: run `make models`",
            dir.display()
        );
    }
    dir
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("hermes-it-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A port that was free a moment ago (for servers that cannot be told to pick one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
