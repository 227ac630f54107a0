//! `/stt` refuses what it cannot transcribe with the contract's statuses and a
//! `detail`, never a 500, and keeps serving; limits are configurable; a ggml
//! Whisper model a user drops into the model dir loads by its id.

mod common;
mod stt_support;

use common::Server;
use serde_json::{Value, json};
use stt_support::{STT_MODEL, STT_THREADS, post_stt, recording, sox, transcribe, wer};

/// (what, bytes, file name, content type, extra form fields, expected in `detail`).
type BadUpload<'a> = (
    &'a str,
    Vec<u8>,
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    &'a str,
);

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

async fn still_serves(s: &Server) {
    let (wav, reference) = recording("hello_world");
    let (text, _) = transcribe(s, &wav, "audio/wav").await;
    assert!(
        wer(&reference, &text) <= 0.15,
        "after bad uploads: {text:?}"
    );
}

#[tokio::test]
async fn bad_uploads_are_client_errors_and_the_server_keeps_serving() {
    let s = Server::start_ready(&[
        ("HERMES_MODELS", STT_MODEL),
        ("HERMES_STT_THREADS", STT_THREADS),
    ])
    .await;
    let garbage: Vec<u8> = (0u32..20_000)
        .map(|i| (i.wrapping_mul(2_654_435_761).rotate_left(7) >> 11) as u8)
        .collect();
    let (hello, _) = recording("hello_world");
    let hello = std::fs::read(hello).unwrap();
    let cases: Vec<BadUpload> = vec![
        (
            "garbage",
            garbage,
            "noise.wav",
            "audio/wav",
            vec![],
            "audio format",
        ),
        (
            "empty",
            Vec::new(),
            "empty.wav",
            "audio/wav",
            vec![],
            "empty",
        ),
        (
            "text named .wav",
            b"Dear Sophia,\nthis is a letter, not a recording.\n".to_vec(),
            "letter.wav",
            "audio/x-wav",
            vec![],
            "audio format",
        ),
        (
            "truncated wav",
            hello[..60].to_vec(),
            "cut.wav",
            "audio/wav",
            vec![],
            "",
        ),
        (
            "not audio/*",
            hello.clone(),
            "hello.wav",
            "text/plain",
            vec![],
            "Invalid file type. Expected audio file.",
        ),
        (
            "unknown language",
            hello.clone(),
            "hello.wav",
            "audio/wav",
            vec![("language", "klingon")],
            "Unsupported language",
        ),
        (
            "non-English on tiny.en",
            hello.clone(),
            "hello.wav",
            "audio/wav",
            vec![("language", "fr-FR")],
            "English only",
        ),
        (
            "unknown model",
            hello.clone(),
            "hello.wav",
            "audio/wav",
            vec![("model", "whisper-huge")],
            "unknown stt model",
        ),
    ];
    for (what, bytes, name, content_type, fields, expected) in cases {
        let (status, body) = post_stt(&s, bytes, name, content_type, &fields).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(detail(&body).contains(expected), "{what}: {body}");
        assert!(!detail(&body).is_empty(), "{what}: {body}");
    }

    // Not a multipart form, or no `audio` field: FastAPI's 422.
    let r = s.post_json("/stt", &json!({"audio": "aGVsbG8="})).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["body", "audio"]), "{body}");
    let r = s
        .client
        .post(s.url("/stt"))
        .multipart(reqwest::multipart::Form::new().text("language", "en-US"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // The contract's hint, and `auto`, are accepted on an English-only model.
    let (wav, _) = recording("hello_world");
    for language in ["en-US", "en", "auto"] {
        let bytes = std::fs::read(&wav).unwrap();
        let (status, body) = post_stt(
            &s,
            bytes,
            "hello.wav",
            "audio/wav",
            &[("language", language)],
        )
        .await;
        assert_eq!(status, 200, "{language}: {body}");
    }
    still_serves(&s).await;
}

#[tokio::test]
async fn uploads_over_the_configured_limits_are_413() {
    let s = Server::start_ready(&[
        ("HERMES_MODELS", STT_MODEL),
        ("HERMES_STT_THREADS", STT_THREADS),
        ("HERMES_STT_MAX_BYTES", "100000"),
        ("HERMES_STT_MAX_SECONDS", "1.0"),
    ])
    .await;
    // Over the byte limit: refused from the declared length...
    let (counting, _) = recording("counting");
    let big = std::fs::read(&counting).unwrap();
    assert!(big.len() > 100_000);
    let (status, body) = post_stt(&s, big.clone(), "counting.wav", "audio/wav", &[]).await;
    assert_eq!(status, 413, "{body}");
    assert!(detail(&body).contains("100000 bytes"), "{body}");
    // ...and while streaming, when the form's length is within the slack.
    let (status, body) = post_stt(
        &s,
        big[..100_001].to_vec(),
        "counting.wav",
        "audio/wav",
        &[],
    )
    .await;
    assert_eq!(status, 413, "{body}");

    // Over the duration limit (1.14 s of audio in 73 kB).
    let (hello, reference) = recording("hello_world");
    let (status, body) = post_stt(
        &s,
        std::fs::read(&hello).unwrap(),
        "hello.wav",
        "audio/wav",
        &[],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(detail(&body).contains("seconds"), "{body}");

    // Within both: served.
    let dir = common::scratch_dir("stt-limits");
    let short = dir.join("hello-short.wav");
    sox(&hello, &[], &short, &["trim", "0", "0.95"]);
    let (text, _) = transcribe(&s, &short, "audio/wav").await;
    assert!(wer(&reference, &text) <= 0.5, "{text:?}");
}

#[tokio::test]
async fn a_ggml_model_dropped_into_the_model_dir_loads_by_id() {
    let dir = common::scratch_dir("stt-user-model");
    std::fs::create_dir_all(dir.join("my-whisper")).unwrap();
    std::os::unix::fs::symlink(
        stt_support::whisper_dir().join("ggml-model.bin"),
        dir.join("my-whisper/ggml-model.bin"),
    )
    .unwrap();
    let model_dir = dir.display().to_string();
    let s = Server::start_ready(&[
        ("HERMES_MODEL_DIR", &model_dir),
        ("HERMES_MODELS", "my-whisper"),
        ("HERMES_STT_THREADS", STT_THREADS),
    ])
    .await;
    let ready: Value = s.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["models"][0]["id"], "my-whisper", "{ready}");
    assert_eq!(ready["models"][0]["task"], "stt", "{ready}");
    let (wav, reference) = recording("hello_world");
    for model in ["my-whisper", "default"] {
        let (status, body) = post_stt(
            &s,
            std::fs::read(&wav).unwrap(),
            "hello.wav",
            "audio/wav",
            &[("model", model)],
        )
        .await;
        assert_eq!(status, 200, "{model}: {body}");
        let text = body["text"].as_str().unwrap();
        assert!(wer(&reference, text) <= 0.15, "{model}: {text:?}");
    }
    drop(s);

    // A declared id with no ggml file is a configuration error naming the layout.
    let (status, stderr) = common::run_to_exit(
        &[
            ("HERMES_MODEL_DIR", &model_dir),
            ("HERMES_MODELS", "no-such-whisper"),
        ],
        std::time::Duration::from_secs(30),
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-such-whisper/ggml-model.bin"),
        "{stderr}"
    );
}
