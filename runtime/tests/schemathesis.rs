//! schemathesis (installed into the project venv by `scripts/tools.sh`) fuzzes the
//! real runtime through its own `/openapi.json`: no 5xx and no response that
//! violates the documented schema. Bounded: the operations whose models take
//! seconds per request on CPU (speech, synthesis, the LLM, media ingestion) are
//! left out; a fixed seed and a small example count keep the run about a minute
//! and reproducible (`HERMES_SCHEMATHESIS_SEED` picks another seed).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::Server;

/// Operations fuzzed: the canonical API's cheap routes at both prefixes, the
/// OpenAI embeddings and model list, probes, metrics and the document itself.
const EXCLUDED_PATHS: &str =
    "^(/v1)?/(stt|tts|llm|ingest/media)$|^/v1/(chat/completions|audio/transcriptions|audio/speech)$";
const MAX_EXAMPLES: &str = "25";
const DEFAULT_SEED: &str = "15";
/// Upper bound for the whole run (it takes about a minute on a busy 2-core machine).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

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

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let bin = schemathesis();
    let s = Server::start_ready(&[("HERMES_MODELS", "all-minilm-l6-v2,en-core-web-sm")]).await;
    let seed = std::env::var("HERMES_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let report = common::scratch_dir("schemathesis");
    let child = tokio::process::Command::new(&bin)
        .arg("run")
        .arg(s.url("/openapi.json"))
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--exclude-path-regex", EXCLUDED_PATHS])
        .args(["--suppress-health-check", "all"])
        .arg("--no-color")
        .arg("--report-dir")
        .arg(&report)
        .args(["--generation-database", "none"])
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems ({}), seed {seed}:\n{stdout}\n{stderr}\nserver log (tail):\n{}",
        out.status,
        tail(&s.logs(), 6000)
    );
    // It did test something: the operations it reports include the embedder's.
    assert!(stdout.contains("/embed_text"), "{stdout}");
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    &text[start..]
}
