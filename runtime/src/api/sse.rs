//! A streamed completion as Server-Sent Events in OpenAI's chunk format:
//! `data: {"object": "chat.completion.chunk", ...}` events (the role first, then
//! each piece of text, then the finish reason and, when asked, the usage), and
//! `data: [DONE]`. A failure mid-stream is sent as `data: {"error": {...}}` and
//! ends the stream without `[DONE]`.

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};

use hermes_engine::llm::{CompletionStream, GatewayError, StreamEvent, Usage};

use crate::llm_metrics::StreamTimer;

/// What differs between `/llm` and `/v1/chat/completions`.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// Add `"provider"` to every chunk (`/llm`).
    pub with_provider: bool,
    /// Send a last chunk with `usage` and no choices (OpenAI's `stream_options.include_usage`).
    pub include_usage: bool,
}

/// Called with the whole text once the stream completed successfully.
pub type OnComplete = Box<dyn FnOnce(String) + Send>;

struct Chunks {
    id: String,
    provider: &'static str,
    model: String,
    created: i64,
    framing: Framing,
}

impl Chunks {
    fn chunk(&self, choices: Value, usage: Option<Usage>) -> Event {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if self.framing.with_provider {
            chunk["provider"] = json!(self.provider);
        }
        if let Some(usage) = usage {
            chunk["usage"] = json!(usage);
        }
        Event::default().data(chunk.to_string())
    }

    fn delta(&self, delta: Value, finish_reason: Option<String>) -> Event {
        self.chunk(
            json!([{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }]),
            None,
        )
    }
}

fn error_event(err: &GatewayError) -> Event {
    err.log();
    let body = json!({ "error": {
        "message": err.client_detail(),
        "type": err.openai_type(),
        "code": err.status_code(),
    }});
    Event::default().data(body.to_string())
}

/// The SSE response for `stream`; `timer` records its first token and output rate.
pub fn response(
    stream: CompletionStream,
    framing: Framing,
    on_complete: Option<OnComplete>,
    timer: StreamTimer,
) -> Response {
    let chunks = Chunks {
        id: stream.id,
        provider: stream.provider,
        model: stream.model,
        created: stream.created,
        framing,
    };
    let opening = chunks.delta(json!({"role": "assistant", "content": ""}), None);

    struct State {
        events: BoxStream<'static, Result<StreamEvent, GatewayError>>,
        chunks: Chunks,
        text: String,
        on_complete: Option<OnComplete>,
        timer: StreamTimer,
        over: bool,
    }
    let state = State {
        events: stream.events,
        chunks,
        text: String::new(),
        on_complete,
        timer,
        over: false,
    };
    let body = futures::stream::unfold(state, |mut state| async move {
        if state.over {
            return None;
        }
        let out: Vec<Event> = match state.events.next().await {
            Some(Ok(StreamEvent::Delta(text))) => {
                state.timer.piece(&text);
                state.text.push_str(&text);
                vec![state.chunks.delta(json!({ "content": text }), None)]
            }
            Some(Ok(StreamEvent::Finish {
                finish_reason,
                usage,
            })) => {
                state.over = true;
                state.timer.finished(usage);
                let mut out = vec![state.chunks.delta(json!({}), finish_reason)];
                if state.chunks.framing.include_usage {
                    out.push(state.chunks.chunk(json!([]), usage));
                }
                out.push(Event::default().data("[DONE]"));
                if let Some(done) = state.on_complete.take() {
                    done(std::mem::take(&mut state.text));
                }
                out
            }
            Some(Err(err)) => {
                state.over = true;
                vec![error_event(&err)]
            }
            None => {
                state.over = true;
                let err = GatewayError::Upstream {
                    provider: state.chunks.provider,
                    status: None,
                    detail: "the stream ended without a finish".to_owned(),
                };
                vec![error_event(&err)]
            }
        };
        Some((futures::stream::iter(out), state))
    })
    .flatten();
    let all = futures::stream::once(async move { opening })
        .chain(body)
        .map(Ok::<_, Infallible>);
    Sse::new(all)
        .keep_alive(KeepAlive::default())
        .into_response()
}
