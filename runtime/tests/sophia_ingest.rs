//! `/ingest/media` forwards image and video files to a (test) Sophia with
//! provenance; Sophia's errors pass through; no Sophia or no token is a 503;
//! audio is transcribed, its transcription embedded, and the file forwarded
//! (a truthful 503 from a runtime without an STT model).

mod common;

use common::Server;
use common::sophia::{Sophia, TOKEN};
use serde_json::Value;

/// A runtime with the embedder only (no STT model: audio is refused with 503).
async fn runtime_for(sophia: &Sophia) -> Server {
    let envs = sophia.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.push(("HERMES_MODELS", common::MODEL_ID));
    Server::start_ready(&envs).await
}

async fn upload(s: &Server, query: &str, name: &str, mime: &str, bytes: &[u8]) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = s
        .client
        .post(s.url(&format!("/ingest/media{query}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn images_and_videos_are_forwarded_with_provenance() {
    let sophia = Sophia::start().await;
    let s = runtime_for(&sophia).await;
    let png: Vec<u8> = (0..=255u8).cycle().take(50_000).collect();
    let (status, body) = upload(
        &s,
        "?media_type=image&question=what%20is%20it",
        "cat.png",
        "image/png",
        &png,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sample_id"], "sample-1");
    assert_eq!(body["neo4j_node_id"], "node-1");
    assert_eq!(body["media_type"], "image");
    assert_eq!(body["file_path"], "/data/media/cat.png");
    assert_eq!(body["metadata"]["size"], 50_000);
    assert!(body["transcription"].is_null() && body["embedding_id"].is_null());

    let (status, body) = upload(
        &s,
        "?media_type=VIDEO",
        "clip.mp4",
        "video/mp4",
        b"\x00\x00\x00\x18ftypmp42",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let got = sophia.media();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].media_type.as_deref(), Some("image"));
    assert_eq!(got[0].source.as_deref(), Some("ingestion"));
    assert_eq!(got[0].derivation.as_deref(), Some("observed"));
    assert_eq!(got[0].question.as_deref(), Some("what is it"));
    assert_eq!(got[0].file_name.as_deref(), Some("cat.png"));
    assert_eq!(got[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(got[0].bytes, png, "the file arrives byte for byte");
    assert_eq!(got[1].media_type.as_deref(), Some("video"), "lower case");
    assert_eq!(got[1].question, None);
}

#[tokio::test]
async fn sophia_errors_pass_through_and_outages_are_503() {
    let mut sophia = Sophia::start().await;
    let s = runtime_for(&sophia).await;

    sophia.fail_with(422);
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"], "sophia says 422");
    sophia.fail_with(500);
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 500, "Sophia's 5xx status passes through: {body}");
    assert_eq!(
        body["detail"], "Media ingestion failed: the media service answered 500",
        "Sophia's own 5xx body stays in the log"
    );
    sophia.fail_with(0);

    sophia.down();
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("Sophia"),
        "{body}"
    );
    sophia.up().await;
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = upload(&s, "?media_type=audio", "a.wav", "audio/wav", b"RIFF").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("speech-to-text"),
        "{body}"
    );

    let (status, body) = upload(&s, "?media_type=text", "a.txt", "text/plain", b"x").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "media_type"])
    );
    let (status, _) = upload(&s, "", "a.png", "image/png", b"x").await;
    assert_eq!(status, 422);
    assert_eq!(
        sophia.media().len(),
        1,
        "only the successful upload reached Sophia"
    );
}

#[tokio::test]
async fn without_a_token_nothing_is_sent() {
    let sophia = Sophia::start().await;
    let url = sophia.url();
    let s = Server::start_ready(&[("SOPHIA_URL", url.as_str())]).await;
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("token"), "{body}");
    assert!(sophia.media().is_empty());
    let _ = TOKEN;
}

#[tokio::test]
async fn audio_is_transcribed_embedded_and_forwarded() {
    let stt_model = "whisper-tiny-en";
    common::installed_model_dir(stt_model, "ggml-model.bin");
    let wav = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/audioeval/en/hello_world.wav");
    let audio = std::fs::read(&wav)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make models`)", wav.display()));
    let sophia = Sophia::start().await;
    let envs = sophia.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let models = format!("{},{stt_model}", common::MODEL_ID);
    envs.push(("HERMES_MODELS", models.as_str()));
    let s = Server::start_ready(&envs).await;

    let (status, body) = upload(&s, "?media_type=audio", "hello.wav", "audio/wav", &audio).await;
    assert_eq!(status, 200, "{body}");
    let heard = body["transcription"].as_str().unwrap().to_lowercase();
    assert!(heard.contains("hello") && heard.contains("world"), "{body}");
    let id = body["embedding_id"]
        .as_str()
        .expect("the transcription is embedded");
    assert!(uuid_like(id), "{id}");
    let got = sophia.media();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].media_type.as_deref(), Some("audio"));
    assert_eq!(got[0].bytes, audio, "the original file is forwarded");
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn an_unreachable_sophia_is_a_503_that_names_no_address() {
    let port = common::milvus::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let s = Server::start_ready(&[("SOPHIA_URL", url.as_str()), ("SOPHIA_API_KEY", TOKEN)]).await;
    let (status, body) = upload(&s, "?media_type=image", "a.png", "image/png", b"png").await;
    assert_eq!(status, 503, "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains(&port.to_string()),
        "the client sees no internal address: {body}"
    );
    // The log keeps the address for the operator.
    assert!(
        s.logs().contains(&format!("127.0.0.1:{port}")),
        "{}",
        s.logs()
    );
}
