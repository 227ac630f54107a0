//! Round trip: five varied sentences through `/tts`, then back through `/stt`: the word
//! error rate over all five (edits over reference words, as ASR corpora are scored) is at
//! most 0.1, and no sentence is lost (each at most 0.5). Per sentence, one slip of the
//! tiny Whisper on a sampled Piper voice ("nearest library" heard "near-slideberry")
//! already costs 0.22, so a per-sentence 0.2 failed now and then on a healthy pipeline.

mod common;
mod tts_support;

use common::Server;
use serde_json::{Value, json};
use tts_support::{wer, words};

const SENTENCES: [&str; 5] = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you arrive at the station.",
    "Can you tell me where the nearest library is?",
    "The weather today is sunny with a light breeze from the west.",
    "She bought fresh bread, green apples and a bottle of milk.",
];

#[tokio::test]
async fn sentences_survive_tts_then_stt() {
    common::installed_model_dir("piper-en-us-joe-medium", "en_US-joe-medium.onnx");
    let s =
        Server::start_ready(&[("HERMES_MODELS", "piper-en-us-joe-medium,whisper-tiny-en")]).await;
    let health: Value = s.get("/health").await.json().await.expect("health json");
    assert_eq!(
        health["capabilities"]["stt"], "available",
        "this build serves stt but no speech-to-text model is installed (run `make models`): {health}"
    );
    assert_eq!(health["capabilities"]["tts"], "available", "{health}");

    let (mut edits, mut total, mut heard_all) = (0.0, 0usize, Vec::new());
    for sentence in SENTENCES {
        let r = s.post_json("/tts", &json!({ "text": sentence })).await;
        assert_eq!(r.status(), 200, "tts {sentence:?}");
        let wav = r.bytes().await.expect("wav").to_vec();
        let part = reqwest::multipart::Part::bytes(wav)
            .file_name("speech.wav")
            .mime_str("audio/wav")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .part("audio", part)
            .text("language", "en-US");
        let r = s
            .client
            .post(s.url("/stt"))
            .multipart(form)
            .send()
            .await
            .expect("POST /stt");
        assert_eq!(r.status(), 200, "stt of {sentence:?}");
        let body: Value = r.json().await.expect("stt json");
        let heard = body["text"].as_str().expect("text");
        let rate = wer(sentence, heard);
        assert!(
            rate <= 0.5,
            "WER {rate:.2}: said {sentence:?}, heard {heard:?}"
        );
        let n = words(sentence).len();
        edits += rate * n as f64;
        total += n;
        heard_all.push(heard.to_owned());
    }
    let corpus_wer = edits / total as f64;
    assert!(
        corpus_wer <= 0.1,
        "WER {corpus_wer:.3} over {total} words; heard {heard_all:?}"
    );
}
