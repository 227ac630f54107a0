//! Readiness is gated on model load: probes answer while loading, capabilities
//! answer 503 (never 500, never a hang), and every model loads exactly once.

mod common;

use common::{MODEL_ID, Server, cosine, vector_of};
use serde_json::{Value, json};

/// Long enough to observe the loading phase from a test on a busy machine.
const LOAD_DELAY_MS: &str = "3000";

#[tokio::test]
async fn readyz_is_503_while_loading_then_200_with_model_details() {
    let server = Server::start(&[("HERMES_TEST_LOAD_DELAY_MS", LOAD_DELAY_MS)]).await;

    assert_eq!(server.get("/livez").await.status(), 200);
    let r = server.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "loading");
    assert_eq!(body["models"][0]["id"], MODEL_ID);
    assert!(
        matches!(
            body["models"][0]["state"].as_str(),
            Some("pending" | "loading")
        ),
        "{body}"
    );

    let r = server
        .post_json("/embed_text", &json!({"text": "too early"}))
        .await;
    assert_eq!(r.status(), 503);
    let detail = r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("still loading"), "{detail}");

    let health: Value = server.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["capabilities"]["embeddings"], "unavailable");

    server.wait_ready().await;
    let body: Value = server.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let model = &body["models"][0];
    assert_eq!(model["state"], "ready");
    assert_eq!(model["load_count"], 1);
    assert!(model["load_seconds"].as_f64().unwrap() > 0.0, "{model}");
    // The weights alone are ~90 MB of f32.
    assert!(
        model["resident_bytes"].as_u64().unwrap() > 50_000_000,
        "{model}"
    );

    let health: Value = server.get("/health").await.json().await.unwrap();
    // Every model is ready; no Milvus runs in this test, so the service is
    // degraded (not persisting right away), not unavailable.
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["dependencies"]["milvus"]["connected"], false);
    assert_eq!(health["capabilities"]["embeddings"], "available");
    assert_eq!(
        health["models"][0]["resident_bytes"],
        model["resident_bytes"]
    );
}

#[tokio::test]
async fn hundred_concurrent_requests_while_loading_get_503_or_a_correct_answer() {
    let server = Server::start(&[("HERMES_TEST_LOAD_DELAY_MS", LOAD_DELAY_MS)]).await;
    assert_eq!(
        server.get("/readyz").await.status(),
        503,
        "sent while loading"
    );
    let text = "The weather is lovely today.";

    let requests = (0..100).map(|_| {
        let client = server.client.clone();
        let url = server.url("/embed_text");
        async move {
            let r = client
                .post(url)
                .json(&json!({ "text": text }))
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json body"))
        }
    });
    let answers = futures::future::join_all(requests).await;

    server.wait_ready().await;
    let reference = server.embed(text).await;

    let mut ok = 0;
    for (status, body) in &answers {
        match status {
            200 => {
                assert!(cosine(&vector_of(body), &reference) > 0.9999, "{body}");
                ok += 1;
            }
            503 => assert!(body["detail"].is_string(), "{body}"),
            other => panic!("status {other}: {body}"),
        }
    }
    let unavailable = answers.len() - ok;
    assert!(
        unavailable > 0,
        "the load delay should leave some requests unanswered"
    );

    let ready: Value = server.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["models"][0]["load_count"], 1, "loaded exactly once");
}
