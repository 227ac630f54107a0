//! The command line of the real binary: `--help` lists every variable the config
//! reads, `--version` answers, `--check` validates without ever listening, unknown
//! flags are refused; and a start with every model logs no native-library lines.

mod common;

use std::time::Duration;

use common::{Server, models_dir, run_with_args};
use hermes_interface::env;

const EXIT: Duration = Duration::from_secs(30);

#[test]
fn help_lists_every_variable_of_the_config_table() {
    let (status, stdout, _) = run_with_args(&["--help"], &[], EXIT);
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("USAGE"), "{stdout}");
    for var in env::VARS {
        assert!(stdout.contains(var.name), "--help lacks {}", var.name);
    }
    for flag in ["--help", "--version", "--check"] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn version_prints_the_version_without_serving() {
    let (status, stdout, _) = run_with_args(&["--version"], &[], EXIT);
    assert_eq!(status.code(), Some(0));
    assert!(
        stdout.starts_with(&format!("hermes-runtime {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
}

#[test]
fn unknown_flags_exit_2_naming_the_valid_ones() {
    let (status, _, stderr) = run_with_args(&["--port", "9"], &[], EXIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--help, --version, --check"), "{stderr}");
    let (status, _, stderr) = run_with_args(&["--verbose"], &[], EXIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
}

/// `--check` never listens: it succeeds on a port another socket holds (serving
/// would fail to bind there), and reports what it would load.
#[test]
fn check_validates_without_listening() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let envs = [("HERMES_PORT", port.as_str())];
    let (status, stdout, stderr) = run_with_args(&["--check"], &envs, EXIT);
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains("load all-minilm-l6-v2"), "{stdout}");
    assert!(stdout.contains("MiB"), "{stdout}");

    let bad = [("HERMES_PORT", port.as_str()), ("HERMES_LOG_FORMAT", "xml")];
    let (status, _, stderr) = run_with_args(&["--check"], &bad, EXIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HERMES_LOG_FORMAT"), "{stderr}");

    // A declared model whose files are missing.
    let empty = common::scratch_dir("check-missing");
    std::fs::create_dir_all(empty.join("all-minilm-l6-v2")).expect("dir");
    let dir = empty.display().to_string();
    let missing = [
        ("HERMES_PORT", port.as_str()),
        ("HERMES_MODEL_DIR", dir.as_str()),
    ];
    let (status, _, stderr) = run_with_args(&["--check"], &missing, EXIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is missing"), "{stderr}");
    drop(taken);
}

/// At `info`, a start with every built capability's model logs only the runtime's
/// own JSON lines (one "model ready" per model), no whisper.cpp/ggml or ONNX
/// Runtime internals, and stderr holds only the ready line.
#[tokio::test]
async fn a_start_with_every_model_logs_no_native_library_lines() {
    let models = "all-minilm-l6-v2,smollm2-135m-instruct,piper-en-us-joe-medium,whisper-tiny-en";
    for id in models.split(',') {
        assert!(
            models_dir().join(id).is_dir(),
            "{id} is not installed: run `make models`"
        );
    }
    let server = Server::start_ready(&[("HERMES_MODELS", models), ("RUST_LOG", "info")]).await;
    // `/readyz` turns 200 a moment before the ready line is printed: wait for it (bounded).
    let stderr_path = server.log.with_extension("stderr");
    let mut err = String::new();
    for _ in 0..100 {
        err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        if err.contains("ready on") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let out = std::fs::read_to_string(&server.log).expect("stdout log");
    let mut ready = 0;
    for line in out.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let target = entry["target"].as_str().unwrap_or_default();
        assert!(
            target.starts_with("hermes"),
            "a line from {target:?} at info: {line}"
        );
        if entry["message"] == "model ready" {
            ready += 1;
            assert!(
                entry["dir"].is_string() && entry["resident_bytes"].is_number(),
                "{line}"
            );
        }
    }
    assert_eq!(ready, 4, "one \"model ready\" line per model:\n{out}");
    let err_lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(err_lines.len(), 1, "stderr: {err}");
    assert!(
        err_lines[0].starts_with("hermes-runtime ready on http://127.0.0.1:"),
        "{err}"
    );
    assert!(err_lines[0].contains("curl -s"), "{err}");
}
