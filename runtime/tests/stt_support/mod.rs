//! Shared by the `/stt` tests: the reference recordings, a word error rate with a
//! documented normaliser, format variants made with sox, and multipart uploads.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::Server;

pub const STT_MODEL: &str = "whisper-tiny-en";
/// One whisper.cpp thread per test server: nextest runs tests side by side on 2
/// cores, and ggml's threads wait for each other at every operation, so
/// oversubscribed cores slow them down many times over.
pub const STT_THREADS: &str = "1";
/// Bound on one sox conversion.
const SOX_TIMEOUT: Duration = Duration::from_secs(30);

/// The English recordings of `pytest-audioeval` (`make models` lays them out).
pub fn recordings_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audioeval/en");
    assert!(
        dir.join("hello_world.wav").is_file(),
        "test recordings missing in {}: run `make models` at the repository root first",
        dir.display()
    );
    dir
}

/// (audio file, reference transcript) of one recording.
pub fn recording(name: &str) -> (PathBuf, String) {
    let dir = recordings_dir();
    let reference = std::fs::read_to_string(dir.join(format!("{name}.txt")))
        .unwrap_or_else(|e| panic!("{name}.txt: {e}"));
    (dir.join(format!("{name}.wav")), reference)
}

/// The folder of the converted Whisper model (`make models`).
pub fn whisper_dir() -> PathBuf {
    super::common::installed_model_dir(STT_MODEL, "ggml-model.bin")
}

const NUMBER_WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// The words a transcript is scored on:
/// - lower case; apostrophes dropped (`don't` = `dont`); every other character that
///   is not a letter or digit separates words;
/// - numbers are scored digit by digit: the number words zero..twenty become digits,
///   and every digit is one word. So "One two three ... ten." and the model's
///   "1-2-345-678910." both become `1 2 3 4 5 6 7 8 9 1 0`: how the model grouped
///   the digits does not count, each wrong, missing or extra digit does.
pub fn normalise(text: &str) -> Vec<String> {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words = Vec::new();
    for word in cleaned.split_whitespace() {
        let word = NUMBER_WORDS
            .iter()
            .position(|n| *n == word)
            .map_or_else(|| word.to_owned(), |n| n.to_string());
        if word.chars().all(|c| c.is_ascii_digit()) {
            words.extend(word.chars().map(String::from));
        } else {
            words.push(word);
        }
    }
    words
}

/// Word error rate of `hypothesis` against `reference` after [`normalise`]:
/// (substitutions + deletions + insertions) / reference words.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    assert!(!r.is_empty(), "empty reference");
    let mut previous: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut current = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let substitution = previous[j] + usize::from(rw != hw);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[h.len()] as f64 / r.len() as f64
}

/// Runs sox (bounded) to convert `input` into `output`: `args` are the output's
/// format options, `effects` follow the output file (e.g. `trim 0 1`).
pub fn sox(input: &Path, args: &[&str], output: &Path, effects: &[&str]) {
    let mut child = Command::new("sox")
        .arg(input)
        .args(args)
        .arg(output)
        .args(effects)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sox not found: `make tools` installs it (apt sox, libsox-fmt-mp3)");
    let deadline = Instant::now() + SOX_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("sox wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sox {args:?} did not finish within {SOX_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        status.success(),
        "sox {args:?} -> {}: {status}",
        output.display()
    );
}

/// The multipart form of an upload: `audio` (bytes, file name, content type) and
/// optional extra text fields.
pub fn form(
    bytes: Vec<u8>,
    file_name: &str,
    content_type: &str,
    fields: &[(&str, &str)],
) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(content_type)
        .expect("content type");
    let mut form = reqwest::multipart::Form::new().part("audio", part);
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form
}

/// POSTs an upload to /stt; returns (status, JSON body).
pub async fn post_stt(
    server: &Server,
    bytes: Vec<u8>,
    file_name: &str,
    content_type: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let r = server
        .client
        .post(server.url("/stt"))
        .multipart(form(bytes, file_name, content_type, fields))
        .send()
        .await
        .expect("POST /stt");
    let status = r.status().as_u16();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Transcribes a file; asserts a 200 with `{text, confidence in 0..=1}`.
pub async fn transcribe(server: &Server, path: &Path, content_type: &str) -> (String, f64) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
    let (status, body) = post_stt(server, bytes, name, content_type, &[]).await;
    assert_eq!(status, 200, "{}: {body}", path.display());
    let text = body["text"].as_str().expect("text").to_owned();
    let confidence = body["confidence"].as_f64().expect("confidence");
    assert!(
        (0.0..=1.0).contains(&confidence),
        "confidence {confidence} for {}",
        path.display()
    );
    (text, confidence)
}
