//! Shared by the LLM gateway tests: reading Server-Sent Events as they arrive,
//! and a scripted OpenAI-compatible upstream for the failure cases a real server
//! cannot be made to produce on demand (500s, 429 with Retry-After, slow answers).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

/// Bound for reading a whole stream.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// One SSE event and the network read it arrived in.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub data: String,
    pub read: usize,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// Reads a streamed response to its end, numbering the reads.
pub async fn read_sse(response: reqwest::Response) -> Vec<SseEvent> {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let mut read = 0;
    tokio::time::timeout(STREAM_TIMEOUT, async {
        while let Some(bytes) = body.next().await {
            read += 1;
            buffer.push_str(&String::from_utf8_lossy(&bytes.expect("stream read")));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                if !data.is_empty() {
                    events.push(SseEvent {
                        data: data.join("\n"),
                        read,
                    });
                }
            }
        }
    })
    .await
    .expect("stream did not end in time");
    events
}

/// The text of a chunk stream: every `choices[0].delta.content` joined.
pub fn streamed_text(events: &[SseEvent]) -> String {
    content_chunks(events)
        .iter()
        .map(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Chunks that carry text.
pub fn content_chunks(events: &[SseEvent]) -> Vec<&SseEvent> {
    events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .filter(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        })
        .collect()
}

/// Checks the OpenAI framing: the role first, `[DONE]` last, one id throughout;
/// returns the finish reason.
pub fn check_framing(events: &[SseEvent]) -> String {
    assert!(events.len() >= 3, "{events:?}");
    assert_eq!(events.last().unwrap().data, "[DONE]", "{events:?}");
    let first = events[0].json();
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let id = first["id"].as_str().unwrap().to_owned();
    let mut finish = None;
    for event in &events[..events.len() - 1] {
        let chunk = event.json();
        assert_eq!(chunk["id"], id.as_str(), "{chunk}");
        if let Some(reason) = chunk["choices"][0]["finish_reason"].as_str() {
            finish = Some(reason.to_owned());
        }
    }
    finish.expect("a chunk with the finish reason")
}

/// What the scripted upstream saw.
#[derive(Debug, Default)]
pub struct Calls {
    pub at: Vec<Instant>,
    pub bodies: Vec<Value>,
    pub authorization: Vec<Option<String>>,
}

/// An OpenAI-compatible upstream on 127.0.0.1 whose answers depend on the first
/// path segment: `/fail500/v1/...` always answers 500; `/ratelimited/v1/...`
/// answers 429 with `Retry-After: 1` on the first call, then a completion;
/// `/flaky/v1/...` answers 503 to calls 1, 4, 7, ... and a completion otherwise;
/// `/slow/v1/...` answers after [`SLOW_ANSWER`], or, streamed, starts at once and
/// sends three words [`SLOW_CHUNK`] apart.
pub struct ScriptedUpstream {
    pub base: String,
    pub calls: Arc<Mutex<Calls>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long `/slow/...` takes to answer a request that is not streamed.
pub const SLOW_ANSWER: Duration = Duration::from_secs(5);
/// The pause before each word of `/slow/...`'s streamed answer.
pub const SLOW_CHUNK: Duration = Duration::from_millis(800);
/// The text `/slow/...` streams.
pub const SLOW_TEXT: &str = "Slow streamed answer.";

/// `/slow/...` streamed: the role chunk at once, then a word every [`SLOW_CHUNK`].
fn slow_stream(model: Value) -> Response {
    let chunk = move |delta: Value, finish: Value| {
        let chunk = json!({
            "id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1700000000,
            "model": model.clone(),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        format!("data: {chunk}\n\n")
    };
    let words: Vec<String> = SLOW_TEXT
        .split_inclusive(' ')
        .map(|w| chunk(json!({"content": w}), Value::Null))
        .collect();
    let first = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    let last = chunk(json!({}), json!("stop")) + "data: [DONE]\n\n";
    let paced = futures::stream::iter(words).then(|w| async move {
        tokio::time::sleep(SLOW_CHUNK).await;
        w
    });
    let all = futures::stream::once(async move { first })
        .chain(paced)
        .chain(futures::stream::once(async move { last }))
        .map(|s| Ok::<_, std::convert::Infallible>(bytes::Bytes::from(s)));
    (
        [("content-type", "text/event-stream")],
        axum::body::Body::from_stream(all),
    )
        .into_response()
}

async fn chat(
    State(calls): State<Arc<Mutex<Calls>>>,
    Path(script): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let n = {
        let mut calls = calls.lock().unwrap();
        calls.at.push(Instant::now());
        calls.bodies.push(body.0.clone());
        calls.authorization.push(
            headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned()),
        );
        calls.at.len()
    };
    match (script.as_str(), n) {
        ("slow", _) if body.0["stream"] == json!(true) => slow_stream(body.0["model"].clone()),
        ("slow", _) => {
            tokio::time::sleep(SLOW_ANSWER).await;
            axum::Json(json!({
                "id": "chatcmpl-slow", "object": "chat.completion", "created": 1700000000,
                "model": body.0["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": SLOW_TEXT},
                             "finish_reason": "stop"}],
            }))
            .into_response()
        }
        ("fail500", _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": "model exploded", "type": "server_error"}})),
        )
            .into_response(),
        ("flaky", n) if n % 3 == 1 => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": {"message": "overloaded, try again"}})),
        )
            .into_response(),
        ("ratelimited", 1) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            axum::Json(json!({"error": {"message": "slow down"}})),
        )
            .into_response(),
        _ => axum::Json(json!({
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": 1700000000,
            "model": body.0["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Scripted answer."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
        }))
        .into_response(),
    }
}

impl ScriptedUpstream {
    pub async fn start() -> Self {
        let calls = Arc::new(Mutex::new(Calls::default()));
        let app = Router::new()
            .route("/{script}/v1/chat/completions", post(chat))
            .with_state(Arc::clone(&calls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, calls, task }
    }

    /// The base URL of one script, for `HERMES_LLM_BASE_URL`.
    pub fn url(&self, script: &str) -> String {
        format!("{}/{script}/v1", self.base)
    }
}
