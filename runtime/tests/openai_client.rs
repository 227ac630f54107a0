//! The OpenAI-compatible surface through the official `openai` Python client
//! (installed into the project venv by `scripts/tools.sh`): the checks live in
//! `openai_client.py`, run here against the real runtime serving real models.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::Server;

#[tokio::test]
async fn the_official_openai_client_uses_every_capability() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run `make models`",
        python.display()
    );
    let s = Server::start_ready(&[(
        "HERMES_MODELS",
        "all-minilm-l6-v2,whisper-tiny-en,piper-en-us-joe-medium,smollm2-135m-instruct",
    )])
    .await;
    let child = tokio::process::Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_client.py"))
        .arg(&s.base)
        .arg(root.join("testdata/audioeval/en"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the OpenAI client checks");
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the OpenAI client checks finish within 300 s")
        .expect("run the OpenAI client checks");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "OpenAI client checks failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        s.logs()
    );
    assert!(
        stdout.contains("all OpenAI client checks passed"),
        "{stdout}"
    );
}
