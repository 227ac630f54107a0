//! Fuzzing the multipart parsing of `/stt`, `/v1/audio/transcriptions` and
//! `/ingest/media` against the real binary, bounded so it runs in `make test`:
//! valid forms (the committed audio corpus, an image) mutated by byte edits,
//! truncation, inserted and duplicated runs, broken boundaries and part headers,
//! plus random bytes. Every answer must be JSON and a success or a 4xx, within a
//! bound (no hang). The one 5xx allowed is the truthful 503 of a form parsed in full
//! whose audio would need the STT model this runtime does not load (the STT model
//! would add seconds per case; the parsing is the target). `HERMES_FUZZ_CASES`
//! raises the case count by hand; a failing body is written to the scratch folder.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Server;
use common::sophia::Sophia;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

const BOUNDARY: &str = "hermesFuzzBoundary7MA4YWxk";

fn cases() -> u32 {
    std::env::var("HERMES_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15_000)
}

/// One form part: (field name, file name and content type for a file, bytes).
type Part = (&'static str, Option<(&'static str, &'static str)>, Vec<u8>);

fn form(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((file_name, mime)) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("engine/tests/fuzz-corpus/audio")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (path and query, valid form) for each route.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let wav = corpus("tone.wav");
    let mp3 = corpus("tone.mp3");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(600))
        .collect();
    vec![
        (
            "/stt",
            form(&[
                ("audio", Some(("tone.wav", "audio/wav")), wav.clone()),
                ("language", None, b"en-US".to_vec()),
            ]),
        ),
        (
            "/v1/stt",
            form(&[("audio", Some(("tone.mp3", "audio/mpeg")), mp3.clone())]),
        ),
        (
            "/v1/audio/transcriptions",
            form(&[
                ("file", Some(("tone.wav", "audio/wav")), wav.clone()),
                ("model", None, b"whisper-1".to_vec()),
                ("response_format", None, b"json".to_vec()),
            ]),
        ),
        (
            "/ingest/media?media_type=image&question=what",
            form(&[("file", Some(("cat.png", "image/png")), png)]),
        ),
        (
            "/ingest/media?media_type=audio",
            form(&[("file", Some(("tone.wav", "audio/wav")), wav)]),
        ),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, usize),
    /// Copies a run of the body elsewhere (duplicated parts, boundaries, headers).
    Duplicate(prop::sample::Index, usize, prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn tokens() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(format!("--{BOUNDARY}\r\n").into_bytes()),
        Just(format!("--{BOUNDARY}--").into_bytes()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"Content-Disposition: form-data; name=\"audio\"; filename=\"\"\r\n".to_vec()),
        Just(b"Content-Disposition: form-data; name*=UTF-8''%FF%00\r\n".to_vec()),
        Just(b"Content-Type: audio/\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(vec![0u8; 3]),
        Just("é\u{feff}\u{202e}".as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..64),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        3 => (any::<prop::sample::Index>(), tokens()).prop_map(|(i, t)| Edit::Insert(i, t)),
        2 => (any::<prop::sample::Index>(), 1usize..200).prop_map(|(i, n)| Edit::Remove(i, n)),
        2 => (any::<prop::sample::Index>(), 1usize..300, any::<prop::sample::Index>())
            .prop_map(|(i, n, to)| Edit::Duplicate(i, n, to)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(body: &mut Vec<u8>, edit: &Edit) {
    if body.is_empty() {
        return;
    }
    match edit {
        Edit::Set(i, b) => {
            let i = i.index(body.len());
            body[i] = *b;
        }
        Edit::Insert(i, bytes) => {
            let i = i.index(body.len() + 1);
            body.splice(i..i, bytes.iter().copied());
        }
        Edit::Remove(i, n) => {
            let i = i.index(body.len());
            let end = (i + n).min(body.len());
            body.drain(i..end);
        }
        Edit::Duplicate(i, n, to) => {
            let i = i.index(body.len());
            let run: Vec<u8> = body[i..(i + n).min(body.len())].to_vec();
            let to = to.index(body.len() + 1);
            body.splice(to..to, run);
        }
        Edit::Truncate(i) => body.truncate(i.index(body.len() + 1)),
    }
}

/// The content type sent: the right boundary mostly, sometimes a broken one.
fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just(format!("multipart/form-data; boundary={BOUNDARY}")),
        1 => Just("multipart/form-data".to_owned()),
        1 => Just("multipart/form-data; boundary=".to_owned()),
        1 => Just(format!("multipart/form-data; boundary=\"{BOUNDARY}\"; charset=utf-8")),
        1 => Just(format!("multipart/mixed; boundary={}", "x".repeat(80))),
        1 => "[ -~]{0,60}",
    ]
}

#[derive(Debug, Clone)]
struct Case {
    route: prop::sample::Index,
    body: Body,
    content_type: String,
}

#[derive(Debug, Clone)]
enum Body {
    Mutated(Vec<Edit>),
    Random(Vec<u8>),
}

fn case() -> impl Strategy<Value = Case> {
    let body = prop_oneof![
        5 => prop::collection::vec(edit(), 1..6).prop_map(Body::Mutated),
        1 => prop::collection::vec(any::<u8>(), 0..2048).prop_map(Body::Random),
    ];
    (any::<prop::sample::Index>(), body, content_type()).prop_map(|(route, body, content_type)| {
        Case {
            route,
            body,
            content_type,
        }
    })
}

/// The truthful 503 of a form parsed in full: its audio needs the STT model.
fn is_no_stt_model(body: &Value) -> bool {
    let text = body.to_string().to_ascii_lowercase();
    text.contains("stt") || text.contains("speech-to-text") || text.contains("transcri")
}

async fn check(s: &Server, seeds: &[(&'static str, Vec<u8>)], case: &Case) -> Result<(), String> {
    let (path, valid) = &seeds[case.route.index(seeds.len())];
    let body = match &case.body {
        Body::Mutated(edits) => {
            let mut body = valid.clone();
            for e in edits {
                apply(&mut body, e);
            }
            body
        }
        Body::Random(bytes) => bytes.clone(),
    };
    answer_is_fine(s, path, &case.content_type, body)
        .await
        .map(|_| ())
}

/// Answers seen, by route and status (printed at the end, to see what the cases reached).
static SEEN: std::sync::Mutex<std::collections::BTreeMap<(String, u16), u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

async fn answer_is_fine(
    s: &Server,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<u16, String> {
    let sent = s
        .client
        .post(s.url(path))
        .header("content-type", content_type)
        .body(body.clone())
        .timeout(Duration::from_secs(20))
        .send()
        .await;
    let outcome = match sent {
        Err(e) => Err(format!("no answer (hang or reset): {e}")),
        Ok(r) => {
            let status = r.status().as_u16();
            if let Ok(mut seen) = SEEN.lock() {
                let route = path.split('?').next().unwrap_or(path).to_owned();
                *seen.entry((route, status)).or_default() += 1;
            }
            let text = r.text().await.unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Err(_) => Err(format!("{status} without a JSON body: {text:?}")),
                Ok(v) if status >= 500 && !(status == 503 && is_no_stt_model(&v)) => {
                    Err(format!("{status}: {v}"))
                }
                Ok(v) if status >= 400 && v.get("detail").is_none() && v.get("error").is_none() => {
                    Err(format!("{status} without `detail` or `error`: {v}"))
                }
                Ok(_) => Ok(status),
            }
        }
    };
    outcome.map_err(|why| {
        let dir = common::scratch_dir("fuzz-multipart");
        let file = dir.join("failing-body");
        let _ = std::fs::write(&file, &body);
        format!(
            "POST {path} (content-type {content_type:?}, body in {}): {why}",
            file.display()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_and_random_multipart_forms_get_json_answers_never_a_5xx() {
    let sophia = Sophia::start().await;
    let envs = sophia.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // A limit just above the WAV seed (8,044 bytes), so that grown forms reach the 413 paths.
    envs.push(("HERMES_STT_MAX_BYTES", "8192"));
    let s = Server::start_ready(&envs).await;
    let seeds = seeds();
    // Each valid seed is accepted as far as this runtime can go: forwarded (200), or
    // parsed in full up to the missing STT model (503).
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    for (path, body) in &seeds {
        let status = answer_is_fine(&s, path, &content_type, body.clone())
            .await
            .expect("a valid seed");
        let expected = if path.contains("media_type=image") {
            200
        } else {
            503
        };
        assert_eq!(status, expected, "{path}");
    }
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = tokio::task::block_in_place(|| {
        runner.run(&case(), |case| {
            handle
                .block_on(check(&s, &seeds, &case))
                .map_err(TestCaseError::fail)
        })
    });
    if let Ok(seen) = SEEN.lock() {
        eprintln!("answers by route and status: {seen:?}");
    }
    if let Err(e) = result {
        panic!("{e}");
    }
    // The server is still up and serving.
    assert_eq!(s.get("/livez").await.status(), 200);
}
