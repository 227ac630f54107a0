//! Process lifecycle: SIGTERM drains and exits 0; a model that cannot load ends
//! the process non-zero with the reason.

mod common;

use std::time::Duration;

use common::{MODEL_ID, Server, models_dir, run_to_exit, scratch_dir};
use serde_json::json;

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut server = Server::start_ready(&[("HERMES_SHUTDOWN_GRACE_SECONDS", "20")]).await;
    // A request whose answer is still being computed when the signal arrives: a
    // long text on a debug build takes a while; whether or not it is still in
    // flight, it must be answered, not dropped.
    let long_text = "Hermes keeps answering while it drains. ".repeat(400);
    let client = server.client.clone();
    let url = server.url("/embed_text");
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .json(&json!({ "text": long_text }))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    server.signal(libc::SIGTERM);

    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    assert_eq!(in_flight.await.unwrap().expect("answered"), 200);
    assert!(server.logs().contains("shutting down"), "{}", server.logs());
}

#[tokio::test]
async fn sigterm_while_models_load_exits_zero() {
    let mut server = Server::start(&[("HERMES_TEST_LOAD_DELAY_MS", "60000")]).await;
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
}

#[test]
fn a_model_that_fails_to_load_ends_the_process_with_the_reason() {
    // Every file present, but the weights are not safetensors.
    let dir = scratch_dir("corrupt-model");
    let source = models_dir().join(MODEL_ID);
    let target = dir.join(MODEL_ID);
    std::fs::create_dir_all(target.join("1_Pooling")).unwrap();
    for file in [
        "config.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "1_Pooling/config.json",
    ] {
        std::fs::copy(source.join(file), target.join(file)).unwrap();
    }
    std::fs::write(target.join("model.safetensors"), b"not a safetensors file").unwrap();

    let dir_text = dir.display().to_string();
    let (status, stderr) = run_to_exit(&[("HERMES_MODEL_DIR", &dir_text)], Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(MODEL_ID) && stderr.contains("failed to load"),
        "{stderr}"
    );
    assert!(stderr.contains("model.safetensors"), "{stderr}");
}
