//! `HERMES_FEATURES_DISABLED` against the real binary: `/health` reports each
//! feature; a disabled capability's routes answer a JSON 503 naming the switch (in
//! OpenAI's shape on the OpenAI routes); with Milvus persistence off an embedding
//! says `persisted: false` with a warning, never `true` for a write that did not
//! happen; with Sophia off `/ingest/media` refuses instead of forwarding.

mod common;

use common::Server;
use serde_json::{Value, json};

async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, value)
}

#[tokio::test]
async fn disabled_features_are_reported_refused_and_never_claimed() {
    let s =
        Server::start_ready(&[("HERMES_FEATURES_DISABLED", "tts, llm,milvus,sophia,STT")]).await;

    let (status, health) = answer(s.get("/health").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        health["features"],
        json!({"stt": false, "tts": false, "embeddings": true, "nlp": true, "llm": false,
               "milvus": false, "sophia": false}),
        "{health}"
    );
    assert_eq!(health["capabilities"]["tts"], "unavailable", "{health}");
    assert_eq!(
        health["capabilities"]["embeddings"], "available",
        "{health}"
    );
    // Milvus is not running here, but it is off: no degradation.
    assert_eq!(health["status"], "healthy", "{health}");

    for (path, body, feature) in [
        ("/tts", json!({"text": "hi"}), "tts"),
        ("/v1/tts", json!({"text": "hi"}), "tts"),
        ("/llm", json!({"prompt": "hi"}), "llm"),
    ] {
        let (status, value) = answer(s.post_json(path, &body).await).await;
        assert_eq!(status, 503, "{path}: {value}");
        let detail = value["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("HERMES_FEATURES_DISABLED={feature}")),
            "{path}: {detail}"
        );
    }
    let (status, value) = answer(
        s.post_json(
            "/v1/audio/speech",
            &json!({"model": "tts-1", "input": "hi", "voice": "alloy"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 503, "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("tts feature is turned off")),
        "{value}"
    );

    // A large upload to a disabled route gets its answer (read first, not reset).
    let part = reqwest::multipart::Part::bytes(vec![0u8; 4 * 1024 * 1024])
        .file_name("long.wav")
        .mime_str("audio/wav")
        .unwrap();
    let r = s
        .client
        .post(s.url("/v1/audio/transcriptions"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("an answer, not a reset");
    let (status, value) = answer(r).await;
    assert_eq!(status, 503, "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("HERMES_FEATURES_DISABLED=stt")),
        "{value}"
    );

    // Embeddings still work; nothing is persisted and the answer says so.
    let (status, value) = answer(
        s.post_json("/embed_text", &json!({"text": "Hermes carries messages."}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(value["persisted"], false, "{value}");
    assert!(
        value["warning"]
            .as_str()
            .is_some_and(|w| w.contains("Milvus persistence is turned off")),
        "{value}"
    );
    assert_eq!(value["embedding"].as_array().map(Vec::len), Some(384));
    // Nor queued for later: the outbox stays empty.
    let (_, health) = answer(s.get("/health").await).await;
    assert_eq!(
        health["dependencies"]["milvus"]["details"]["outbox_depth"], 0,
        "{health}"
    );
    assert_eq!(
        health["dependencies"]["milvus"]["status"], "disabled",
        "{health}"
    );

    // Sophia forwarding off: the upload is refused, not silently dropped.
    let part = reqwest::multipart::Part::bytes(b"\x89PNG....".to_vec())
        .file_name("cat.png")
        .mime_str("image/png")
        .unwrap();
    let r = s
        .client
        .post(s.url("/ingest/media?media_type=image"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let (status, value) = answer(r).await;
    assert_eq!(status, 503, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("HERMES_FEATURES_DISABLED=sophia")),
        "{value}"
    );

    // Milvus off: the runtime does not even try to reach it (no "unreachable" warnings).
    let logs = s.logs();
    assert!(
        logs.contains("Milvus persistence is switched off"),
        "{logs}"
    );
    assert!(!logs.contains("milvus unreachable"), "{logs}");
}
