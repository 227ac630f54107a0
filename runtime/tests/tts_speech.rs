//! `/tts` speaks: a real Piper voice answers a 16-bit PCM mono WAV at 22050 Hz
//! whose length follows the text and which is audible, not silence.

mod common;
mod tts_support;

use common::Server;
use serde_json::{Value, json};
use tts_support::parse_wav;

const VOICE: &str = "piper-en-us-joe-medium";

async fn voice_server(extra: &[(&str, &str)]) -> Server {
    common::installed_model_dir(VOICE, "en_US-joe-medium.onnx");
    let mut envs = vec![("HERMES_MODELS", VOICE)];
    envs.extend_from_slice(extra);
    Server::start_ready(&envs).await
}

async fn speak(s: &Server, path: &str, body: Value) -> Vec<u8> {
    let r = s.post_json(path, &body).await;
    assert_eq!(r.status(), 200, "{body}");
    assert_eq!(
        r.headers()["content-type"],
        "audio/wav",
        "content type of {body}"
    );
    r.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn speech_is_a_pcm16_mono_wav_whose_length_follows_the_text() {
    let s = voice_server(&[]).await;
    let short_text = "Hello world.";
    let long_text = "The quick brown fox jumps over the lazy dog, and then it runs \
                     back into the forest to find its friends before the sun goes down.";
    let short = parse_wav(&speak(&s, "/tts", json!({ "text": short_text })).await);
    let long = parse_wav(
        &speak(
            &s,
            "/v1/tts",
            json!({ "text": long_text, "voice": "default", "language": "en-US" }),
        )
        .await,
    );
    for (wav, text) in [(&short, short_text), (&long, long_text)] {
        assert_eq!(
            (wav.channels, wav.sample_rate, wav.bits),
            (1, 22050, 16),
            "{text}"
        );
        let words = text.split_whitespace().count() as f64;
        let per_word = wav.seconds() / words;
        assert!(
            (0.25..=1.5).contains(&per_word),
            "{:.2} s for {words} words ({per_word:.2} s/word): {text}",
            wav.seconds()
        );
        let rms = wav.rms();
        assert!(
            rms > 0.03,
            "RMS {rms:.4}: silence or near-silence for {text:?}"
        );
        let clipped = wav
            .samples
            .iter()
            .filter(|s| s.unsigned_abs() >= 32767)
            .count();
        assert!(
            clipped * 100 < wav.samples.len(),
            "{clipped} clipped samples of {}",
            wav.samples.len()
        );
    }
    assert!(
        long.seconds() > 4.0 * short.seconds(),
        "{:.2} s for the long text vs {:.2} s for the short one",
        long.seconds(),
        short.seconds()
    );

    let health: Value = s.get("/health").await.json().await.expect("health json");
    assert_eq!(health["capabilities"]["tts"], "available", "{health}");
}

/// The reference recordings of `scripts/make_reference_speech.py`: the same voice
/// through piper-tts (the Piper project's Python package), noise scales at 0.
fn references() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("piper_reference.json")).expect("reference index"),
    )
    .expect("reference index json");
    index
        .as_object()
        .expect("object")
        .values()
        .map(|item| {
            let text = item["text"].as_str().expect("text").to_owned();
            let file = dir.join(item["file"].as_str().expect("file"));
            (text, std::fs::read(file).expect("reference wav"))
        })
        .collect()
}

#[tokio::test]
async fn without_noise_speech_is_stable_and_matches_piper_itself() {
    let s = voice_server(&[("HERMES_TTS_NOISE_SCALE", "0"), ("HERMES_TTS_NOISE_W", "0")]).await;
    let body = json!({ "text": "Deterministic settings, deterministic speech.", "voice": VOICE });
    let first = speak(&s, "/tts", body.clone()).await;
    let second = speak(&s, "/tts", body).await;
    assert!(parse_wav(&first).rms() > 0.03);
    assert!(first == second, "two syntheses of the same text differ");

    for (text, reference) in references() {
        let reference = parse_wav(&reference);
        let ours = parse_wav(&speak(&s, "/tts", json!({ "text": text })).await);
        assert_eq!(ours.sample_rate, reference.sample_rate, "{text}");
        assert_eq!(
            ours.samples.len(),
            reference.samples.len(),
            "same phonemes give the same length: {text}"
        );
        let max_diff = ours
            .samples
            .iter()
            .zip(&reference.samples)
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).unsigned_abs())
            .max()
            .unwrap_or(0);
        // Float sums may differ in the last bits with other thread counts.
        assert!(
            max_diff <= 64,
            "{text:?}: samples differ by up to {max_diff}"
        );
    }
}
