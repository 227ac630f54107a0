//! `/stt` over HTTP with the real tiny.en model: word error rate on the English
//! recordings of pytest-audioeval, and on one recording in every input format.
//! Scoring: `stt_support::normalise` (case, punctuation, numbers digit by digit).

mod common;
mod stt_support;

use common::Server;
use stt_support::{STT_MODEL, STT_THREADS, normalise, recording, sox, transcribe, wer};

async fn stt_server() -> Server {
    Server::start_ready(&[
        ("HERMES_MODELS", STT_MODEL),
        ("HERMES_STT_THREADS", STT_THREADS),
    ])
    .await
}

/// (file, sox output options, content type); -D: no dither, so runs repeat exactly.
type Variant = (&'static str, &'static [&'static str], &'static str);

/// Makes each variant of quick_brown_fox with sox and checks its transcript.
async fn variants_transcribe_within_wer_0_2(name: &str, variants: &[Variant]) {
    let (wav, reference) = recording("quick_brown_fox");
    let dir = common::scratch_dir(name);
    for (file, args, _) in variants {
        sox(&wav, args, &dir.join(file), &[]);
    }
    let s = stt_server().await;
    for (file, _, content_type) in variants {
        let (text, confidence) = transcribe(&s, &dir.join(file), content_type).await;
        let error_rate = wer(&reference, &text);
        eprintln!("{file}: {text:?} (confidence {confidence:.3}, WER {error_rate:.3})");
        assert!(error_rate <= 0.2, "{file}: WER {error_rate}: {text:?}");
    }
}

#[test]
fn the_normaliser_and_wer_score_as_documented() {
    assert_eq!(normalise("Hello, World!"), ["hello", "world"]);
    assert_eq!(
        normalise("One two three four five six seven eight nine ten."),
        normalise("1-2-345-678910.")
    );
    assert_eq!(wer("The quick brown fox.", "the quick brown fox"), 0.0);
    assert_eq!(wer("a b c d", "a x c"), 0.5);
    assert!((wer("one two three", "1 2 4") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(wer("hello world", ""), 1.0);
}

#[tokio::test]
async fn reference_recordings_transcribe_within_wer_0_15() {
    let s = stt_server().await;
    let health: serde_json::Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(health["capabilities"]["stt"], "available", "{health}");
    for name in ["hello_world", "quick_brown_fox", "counting"] {
        let (wav, reference) = recording(name);
        let (text, confidence) = transcribe(&s, &wav, "audio/wav").await;
        let error_rate = wer(&reference, &text);
        eprintln!("{name}: {text:?} (confidence {confidence:.3}, WER {error_rate:.3})");
        assert!(
            error_rate <= 0.15,
            "{name}: WER {error_rate}: {text:?} vs {reference:?}"
        );
        assert!(confidence > 0.3, "{name}: confidence {confidence}");
    }
}

#[tokio::test]
async fn every_wav_sample_format_transcribes_within_wer_0_2() {
    variants_transcribe_within_wer_0_2(
        "stt-wav-formats",
        &[
            (
                "int16.wav",
                &["-D", "-b", "16", "-e", "signed-integer"],
                "audio/wav",
            ),
            (
                "float32.wav",
                &["-b", "32", "-e", "floating-point"],
                "audio/wav",
            ),
            (
                "uint8.wav",
                &["-D", "-b", "8", "-e", "unsigned-integer"],
                "audio/wav",
            ),
            (
                "int32.wav",
                &["-D", "-b", "32", "-e", "signed-integer"],
                "audio/x-wav",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn other_rates_channels_and_codecs_transcribe_within_wer_0_2() {
    variants_transcribe_within_wer_0_2(
        "stt-rates-codecs",
        &[
            (
                "int16-8k.wav",
                &["-D", "-b", "16", "-r", "8000"],
                "audio/wav",
            ),
            (
                "int24-44k1.wav",
                &["-D", "-b", "24", "-r", "44100"],
                "audio/wav",
            ),
            (
                "stereo-48k.wav",
                &["-D", "-b", "16", "-r", "48000", "-c", "2"],
                "audio/wav",
            ),
            ("clip.flac", &["-D", "-b", "16"], "audio/flac"),
            ("clip.mp3", &["-r", "44100"], "audio/mpeg"),
            ("clip.ogg", &[], "audio/ogg"),
        ],
    )
    .await;
}
