//! The model `make models` converts (scripts/ct2_to_ggml.py) is a working
//! whisper.cpp model: loaded directly, it transcribes a real recording; and the
//! converter's own unit tests pass.

mod common;
mod stt_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hermes_engine::audio::{AudioHint, DecodeLimits, decode_to_mono_16k};
use hermes_engine::models::whisper::{LanguageChoice, WhisperModel};
use stt_support::{recording, wer, whisper_dir};

#[test]
fn the_converted_model_transcribes_hello_world() {
    let model = WhisperModel::load(&whisper_dir(), 1).expect("load the converted model");
    assert!(!model.is_multilingual(), "tiny.en is English-only");
    let (wav, reference) = recording("hello_world");
    let pcm = decode_to_mono_16k(
        Bytes::from(std::fs::read(&wav).expect("read wav")),
        &AudioHint::new(Some("audio/wav"), Some("hello_world.wav")),
        DecodeLimits { max_seconds: 60.0 },
    )
    .expect("decode");
    let heard = model
        .transcribe(&pcm.samples, LanguageChoice::Code("en"))
        .expect("transcribe");
    let error_rate = wer(&reference, &heard.text);
    assert!(error_rate <= 0.15, "WER {error_rate}: {:?}", heard.text);
    assert!(heard.tokens >= 2, "{heard:?}");
    assert!(
        heard.confidence > 0.5 && heard.confidence <= 1.0,
        "clear speech is transcribed confidently: {heard:?}"
    );

    // Silence holds no words the model is sure of.
    let silence = model
        .transcribe(&vec![0.0; 32_000], LanguageChoice::Code("en"))
        .expect("transcribe silence");
    assert!(silence.text.split_whitespace().count() <= 3, "{silence:?}");
}

#[test]
fn the_converter_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run `make models` first",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root.join("scripts/test_ct2_to_ggml.py"))
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the converter tests");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("converter tests did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "scripts/test_ct2_to_ggml.py failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
