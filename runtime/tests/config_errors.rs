//! An invalid configuration exits non-zero before listening, with one line naming
//! the variable and the problem.

mod common;

use std::time::Duration;

use common::{MODEL_ID, run_to_exit, scratch_dir};

fn assert_rejected(envs: &[(&str, &str)], variable: &str, problem: &str) {
    let (status, stderr) = run_to_exit(envs, Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{envs:?}: {stderr}");
    let line = stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line for {envs:?}: {stderr}");
    assert!(
        line.contains(variable),
        "{envs:?} should name {variable}: {line}"
    );
    assert!(
        line.contains(problem),
        "{envs:?} should say {problem:?}: {line}"
    );
}

#[test]
fn unparsable_ports_are_rejected() {
    assert_rejected(&[("HERMES_PORT", "eighty")], "HERMES_PORT", "port number");
    assert_rejected(&[("HERMES_PORT", "65536")], "HERMES_PORT", "port number");
    assert_rejected(&[("MILVUS_PORT", "x")], "MILVUS_PORT", "port number");
}

#[test]
fn unknown_features_and_malformed_route_timeouts_are_rejected() {
    assert_rejected(
        &[("HERMES_FEATURES_DISABLED", "tts,speech")],
        "HERMES_FEATURES_DISABLED",
        "unknown feature \"speech\"",
    );
    assert_rejected(
        &[("HERMES_ROUTE_TIMEOUTS_MS", "stt=soon")],
        "HERMES_ROUTE_TIMEOUTS_MS",
        "invalid timeout",
    );
}

#[test]
fn unknown_models_are_rejected() {
    assert_rejected(
        &[("HERMES_MODELS", "gpt-17")],
        "HERMES_MODELS",
        "unknown model id \"gpt-17\"",
    );
}

#[test]
fn missing_model_files_are_rejected() {
    let empty = scratch_dir("no-weights");
    std::fs::create_dir_all(empty.join(MODEL_ID)).unwrap();
    let dir = empty.display().to_string();
    assert_rejected(
        &[("HERMES_MODEL_DIR", &dir), ("HERMES_MODELS", MODEL_ID)],
        "HERMES_MODELS",
        "is missing (run `make models`)",
    );
    assert_rejected(
        &[("HERMES_MODEL_DIR", "/nonexistent/hermes/models")],
        "HERMES_MODEL_DIR",
        "does not exist",
    );
}

#[test]
fn malformed_urls_and_formats_are_rejected() {
    assert_rejected(
        &[("SOPHIA_URL", "sophia:8001")],
        "SOPHIA_URL",
        "malformed URL",
    );
    assert_rejected(
        &[("HERMES_LLM_BASE_URL", "not a url")],
        "HERMES_LLM_BASE_URL",
        "malformed URL",
    );
    assert_rejected(
        &[("HERMES_LOG_FORMAT", "yaml")],
        "HERMES_LOG_FORMAT",
        "\"json\" or \"text\"",
    );
    assert_rejected(
        &[("HERMES_HOST", "example.com")],
        "HERMES_HOST",
        "IP address",
    );
}
