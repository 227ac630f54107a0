//! `/tts` refuses what it cannot speak with the contract's statuses and a detail
//! that says why, and a failing or missing espeak-ng is reported, never answered
//! with an empty WAV.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

const VOICE: &str = "piper-en-us-joe-medium";

/// espeak-ng behind a wrapper that fails on `FAILME` and hangs on `SLOWME`, so
/// the runtime's handling of a broken phonemizer is observable.
fn flaky_espeak() -> PathBuf {
    let path = common::scratch_dir("flaky-espeak").join("espeak-ng");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         input=$(cat)\n\
         case \"$input\" in\n\
           *FAILME*) echo 'simulated espeak-ng failure' >&2; exit 3 ;;\n\
           *SLOWME*) exec sleep 30 ;;\n\
         esac\n\
         printf '%s' \"$input\" | exec espeak-ng \"$@\"\n",
    )
    .expect("write wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

async fn detail(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (
        status,
        r.json::<Value>().await.expect("json body")["detail"].clone(),
    )
}

#[tokio::test]
async fn invalid_requests_get_400_413_422_and_a_broken_phonemizer_500_or_503() {
    common::installed_model_dir(VOICE, "en_US-joe-medium.onnx");
    let espeak = flaky_espeak();
    let s = Server::start_ready(&[
        ("HERMES_MODELS", VOICE),
        ("HERMES_TTS_MAX_CHARS", "120"),
        ("HERMES_ESPEAK_NG", espeak.to_str().expect("utf-8 path")),
        ("HERMES_TTS_ESPEAK_TIMEOUT_SECONDS", "2"),
    ])
    .await;

    let (status, d) = detail(
        s.post_json("/tts", &json!({"text": "Hi", "voice": "alloy"}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    let d = d.as_str().expect("string detail");
    assert!(
        d.contains("alloy") && d.contains(VOICE) && d.contains("default"),
        "{d}"
    );

    let (status, d) = detail(s.post_json("/tts", &json!({"text": "a".repeat(121)})).await).await;
    assert_eq!(status, 413);
    assert!(d.as_str().expect("string").contains("120"), "{d}");
    let at_limit = s
        .post_json("/tts", &json!({"text": "ok ".repeat(40)}))
        .await;
    assert_eq!(at_limit.status(), 200, "120 characters are allowed");

    for blank in ["", "   \n\t"] {
        let (status, d) = detail(s.post_json("/tts", &json!({"text": blank})).await).await;
        assert_eq!((status, d), (400, json!("Text cannot be empty")));
    }
    let (status, d) = detail(s.post_json("/tts", &json!({"text": "... ?!"})).await).await;
    assert_eq!(status, 400);
    assert!(d.as_str().expect("string").contains("nothing"), "{d}");

    let (status, d) = detail(
        s.post_json("/tts", &json!({"text": "Bonjour", "language": "fr-FR"}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(d.as_str().expect("string").contains("fr-FR"), "{d}");

    let (status, d) = detail(s.post_json("/tts", &json!({"voice": VOICE})).await).await;
    assert_eq!(status, 422);
    assert_eq!(d[0]["loc"], json!(["body", "text"]));
    assert_eq!(d[0]["type"], "missing");
    let (status, d) = detail(
        s.post_json("/tts", &json!({"text": 12345, "voice": 7}))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let types: Vec<&Value> = d
        .as_array()
        .expect("list")
        .iter()
        .map(|i| &i["type"])
        .collect();
    assert_eq!(types, [&json!("string_type"), &json!("string_type")], "{d}");
    let r = s.post_raw("/tts", "application/json", "{\"text\": ").await;
    assert_eq!(r.status(), 422);

    let (status, d) = detail(
        s.post_json("/tts", &json!({"text": "Please FAILME now."}))
            .await,
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        d.as_str()
            .expect("string")
            .contains("simulated espeak-ng failure"),
        "{d}"
    );
    let (status, d) = detail(
        s.post_json("/tts", &json!({"text": "Please SLOWME now."}))
            .await,
    )
    .await;
    assert_eq!(status, 503);
    assert!(d.as_str().expect("string").contains("within 2 s"), "{d}");

    // Still serving, with an explicit voice id in any case.
    let r = s
        .post_json(
            "/tts",
            &json!({"text": "Still here.", "voice": "PIPER-EN-US-JOE-MEDIUM"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.expect("wav").len() > 44 + 22050 / 2);
}

#[test]
fn a_missing_espeak_ng_stops_the_start_with_the_reason() {
    common::installed_model_dir(VOICE, "en_US-joe-medium.onnx");
    let (status, stderr) = common::run_to_exit(
        &[
            ("HERMES_MODELS", VOICE),
            ("HERMES_ESPEAK_NG", "/nonexistent/espeak-ng"),
        ],
        Duration::from_secs(120),
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/espeak-ng") && stderr.contains("not found"),
        "{stderr}"
    );
}
