//! schemathesis (installed into the project venv by `scripts/tools.sh`) fuzzes the
//! real runtime through its own `/openapi.json`. The routes that answer without a
//! slow model (the embedder, the NLP model, speech-to-text (generated uploads are
//! rarely audio), feedback, health, probes, the OpenAI embeddings, transcriptions and
//! model list): no 5xx and no response that violates the documented schema or
//! content type. `/llm` and `/v1/chat/completions` over the `echo` provider: no response
//! that violates the schema (their 503 for an unknown provider is the contract's).
//! Synthesis (`/tts`, `/v1/audio/speech`) and media ingestion (`/ingest/media`, with
//! the test Sophia) run in a second server with texts capped at 40 characters
//! (`HERMES_TTS_MAX_CHARS`: longer is the documented 413), so that each synthesis
//! stays short, and fewer examples. A fixed seed keeps the run reproducible
//! (`HERMES_SCHEMATHESIS_SEED` picks another); it takes well under a minute.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::Server;
use common::sophia::Sophia;

/// The cheap routes, at both prefixes where the canonical API has them.
const CHEAP_PATHS: &str = "^(/v1)?(/|/health|/embed_text|/simple_nlp|/feedback|/stt)?$|^/(livez|readyz|metrics|openapi.json)$|^/v1/(embeddings|models|audio/transcriptions)$";
/// Synthesis and media ingestion, at both prefixes.
const SLOW_PATHS: &str = "^(/v1)?/(tts|ingest/media)$|^/v1/audio/speech$";
/// The LLM routes, over the `echo` provider.
const LLM_PATHS: &str = "^(/v1)?/llm$|^/v1/chat/completions$";
const DEFAULT_SEED: &str = "15";
/// Upper bound for each run (each takes seconds to tens of seconds on a busy 2-core machine).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn schemathesis() -> PathBuf {
    let venv = std::env::var_os("HERMES_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"),
        PathBuf::from,
    );
    let bin = venv.join("bin/schemathesis");
    assert!(
        bin.is_file(),
        "{} missing: run `scripts/tools.sh` (it installs schemathesis into the project venv)",
        bin.display()
    );
    bin
}

/// Runs schemathesis on the operations whose path matches `paths`; panics with
/// its report (and the server's log) when it finds a problem.
async fn fuzz(s: &Server, paths: &str, checks: &str, max_examples: &str) -> String {
    let seed = std::env::var("HERMES_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let report = common::scratch_dir("schemathesis");
    let child = tokio::process::Command::new(schemathesis())
        .arg("run")
        .arg(s.url("/openapi.json"))
        .args(["--checks", checks])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", max_examples])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--include-path-regex", paths])
        .args(["--suppress-health-check", "all"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .arg("--report-dir")
        .arg(&report)
        .current_dir(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start schemathesis");
    let out = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .expect("schemathesis finishes within the bound")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems on {paths} ({}), seed {seed}:\n{stdout}\n{stderr}\nserver log (tail):\n{}",
        out.status,
        tail(&s.logs(), 6000)
    );
    let cases = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1);
    eprintln!("schemathesis on {paths}: {}", cases.unwrap_or("?").trim());
    stdout
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    schemathesis();
    let s = Server::start_ready(&[
        (
            "HERMES_MODELS",
            "all-minilm-l6-v2,en-core-web-sm,whisper-tiny-en",
        ),
        ("HERMES_LLM_PROVIDER", "echo"),
    ])
    .await;
    let cheap = fuzz(
        &s,
        CHEAP_PATHS,
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "100",
    )
    .await;
    // It tested what it should: every cheap operation (six canonical ones and `/` at
    // both prefixes, four root routes, three OpenAI ones), then the three LLM ones.
    assert!(selected(&cheap) == Some(19), "{cheap}");
    let llm = fuzz(
        &s,
        LLM_PATHS,
        "response_schema_conformance,content_type_conformance",
        "40",
    )
    .await;
    assert!(selected(&llm) == Some(3), "{llm}");
}

#[tokio::test]
async fn schemathesis_on_synthesis_and_media_ingestion_finds_no_server_error() {
    schemathesis();
    let sophia = Sophia::start().await;
    let envs = sophia.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Audio ingestion transcribes first: the STT model too (generated uploads are
    // rarely audio, so it is mostly the 400 of undecodable audio).
    envs.push((
        "HERMES_MODELS",
        "all-minilm-l6-v2,piper-en-us-joe-medium,whisper-tiny-en",
    ));
    envs.push(("HERMES_TTS_MAX_CHARS", "40"));
    let s = Server::start_ready(&envs).await;
    let report = fuzz(
        &s,
        SLOW_PATHS,
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "25",
    )
    .await;
    // `/tts` and `/ingest/media` at both prefixes, and `/v1/audio/speech`.
    assert!(selected(&report) == Some(5), "{report}");
}

/// The operations a run selected, from its "Operations: N selected / M total" line.
fn selected(report: &str) -> Option<usize> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Operations:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}
