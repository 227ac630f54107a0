//! `openai`: any OpenAI-compatible chat-completions server (OpenAI, vLLM,
//! llama.cpp's server, Ollama, another Hermes), through the shared pooled client.
//!
//! A 429 or transient 5xx is retried (bounded by `HERMES_LLM_MAX_RETRIES`) after
//! the upstream's `Retry-After` or a backoff; so is a refused connection. What
//! still fails maps to: an upstream error answer -> 502 with its detail; an
//! upstream that cannot be reached -> 503; no answer in time -> 502.

use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};
use tracing::Instrument;

use hermes_engine::llm::error::GatewayError;
use hermes_engine::llm::types::{
    Choice, Completion, CompletionRequest, CompletionStream, Message, StreamEvent, new_id, unix_now,
};
use hermes_engine::models::llm::Role;

use super::guard::{DEPENDENCY, UpstreamGuard};
use super::wire::{NAME, parse_usage, upstream_error_message};
use super::{openai_stream, retry};
use crate::config::OpenAiUpstream;
use crate::trace_context;

/// Most characters of an upstream error body quoted back to the client.
const MAX_DETAIL_CHARS: usize = 500;

/// One upstream and the client to reach it with.
pub struct OpenAi<'a> {
    pub upstream: &'a OpenAiUpstream,
    pub http: &'a reqwest::Client,
    pub guard: &'a UpstreamGuard,
}

impl OpenAi<'_> {
    fn body(&self, request: &CompletionRequest, stream: bool) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model(request)));
        body.insert("messages".into(), json!(request.messages));
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(p) = request.top_p {
            body.insert("top_p".into(), json!(p));
        }
        if let Some(n) = request.max_tokens {
            body.insert("max_tokens".into(), json!(n));
        }
        if let Some(seed) = request.seed {
            body.insert("seed".into(), json!(seed));
        }
        if stream {
            body.insert("stream".into(), json!(true));
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(body)
    }

    fn model(&self, request: &CompletionRequest) -> String {
        request
            .model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| self.upstream.model.clone())
    }

    /// POSTs to `/chat/completions`, retrying what may succeed later while the
    /// retry budget allows; returns the first successful answer. While the
    /// upstream's circuit is open, fails fast with a 503.
    async fn send(&self, body: &Value) -> Result<reqwest::Response, GatewayError> {
        let url = self.upstream.endpoint("chat/completions");
        self.guard.first_attempt();
        let mut retry = 0;
        loop {
            self.guard
                .admit()
                .map_err(|rejected| GatewayError::Unreachable {
                    provider: NAME,
                    url: url.clone(),
                    detail: format!("{rejected} after repeated upstream failures"),
                })?;
            // One client span per attempt, carrying its trace headers.
            let span = trace_context::client_span(DEPENDENCY, "POST chat/completions", &url);
            let mut call = self
                .http
                .post(&url)
                .headers(span.in_scope(trace_context::headers))
                .timeout(self.upstream.timeout)
                .json(body);
            if let Some(key) = &self.upstream.api_key {
                call = call.bearer_auth(key.expose());
            }
            let sent = call.send().instrument(span.clone()).await;
            match &sent {
                Ok(answer) => trace_context::record_status(&span, answer.status().as_u16()),
                Err(e) => trace_context::record_error(&span, &error_chain(e)),
            }
            let (wait, error) = match sent {
                Ok(answer) if answer.status().is_success() => {
                    self.guard.answered();
                    return Ok(answer);
                }
                Ok(answer) => {
                    let status = answer.status();
                    if status.is_server_error() {
                        self.guard.failed("status_5xx");
                    } else {
                        self.guard.answered();
                    }
                    let wait = retry::wait_before_retry(status, answer.headers(), retry);
                    // Read even when retrying: the detail is the client's answer if
                    // this was the last try, and a drained body frees the connection.
                    let text = answer.text().await.unwrap_or_default();
                    let error = GatewayError::Upstream {
                        provider: NAME,
                        status: Some(status.as_u16()),
                        detail: format!("status {}: {}", status.as_u16(), error_detail(&text)),
                    };
                    (wait, error)
                }
                Err(e) if e.is_connect() => {
                    self.guard.failed("unreachable");
                    let error = GatewayError::Unreachable {
                        provider: NAME,
                        url: url.clone(),
                        detail: error_chain(&e),
                    };
                    (Some(retry::backoff(retry)), error)
                }
                Err(e) if e.is_timeout() => {
                    self.guard.failed("timeout");
                    let detail =
                        format!("no answer within {} s", self.upstream.timeout.as_secs_f64());
                    return Err(GatewayError::Upstream {
                        provider: NAME,
                        status: None,
                        detail,
                    });
                }
                Err(e) => {
                    self.guard.failed("transport");
                    return Err(GatewayError::Upstream {
                        provider: NAME,
                        status: None,
                        detail: error_chain(&e),
                    });
                }
            };
            let Some(wait) = wait else {
                return Err(error);
            };
            if retry >= self.upstream.max_retries {
                return Err(error);
            }
            if !self.guard.may_retry() {
                tracing::warn!(%url, retry, %error, "llm upstream failed; retry budget spent, not retrying");
                return Err(error.with_note("not retried: the retry budget is spent"));
            }
            tracing::warn!(%url, retry, wait_ms = wait.as_millis() as u64, %error, "llm upstream failed; retrying");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    pub async fn complete(&self, request: &CompletionRequest) -> Result<Completion, GatewayError> {
        let answer = self.send(&self.body(request, false)).await?;
        let data: Value = read_json(answer).await?;
        completion_from(data, &self.model(request))
    }

    /// Streams the upstream's answer, reframed; an upstream that ignores
    /// `stream: true` and answers whole is streamed as one piece.
    pub async fn stream(
        &self,
        request: &CompletionRequest,
    ) -> Result<CompletionStream, GatewayError> {
        let answer = self.send(&self.body(request, true)).await?;
        let is_sse = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            let whole = completion_from(read_json(answer).await?, &self.model(request))?;
            let events = vec![
                Ok(StreamEvent::Delta(whole.text().to_owned())),
                Ok(StreamEvent::Finish {
                    finish_reason: whole.choices.first().and_then(|c| c.finish_reason.clone()),
                    usage: whole.usage,
                }),
            ];
            return Ok(CompletionStream {
                id: whole.id,
                provider: NAME,
                model: whole.model,
                created: whole.created,
                events: futures::stream::iter(events).boxed(),
            });
        }
        let mut chunks = openai_stream::chunks(answer.bytes_stream());
        let first = chunks.next().await.ok_or_else(|| GatewayError::Upstream {
            provider: NAME,
            status: None,
            detail: "its stream ended before the first chunk".to_owned(),
        })??;
        let id = first["id"]
            .as_str()
            .map_or_else(|| new_id("chatcmpl"), str::to_owned);
        let model = first["model"]
            .as_str()
            .map_or_else(|| self.model(request), str::to_owned);
        let created = first["created"].as_i64().unwrap_or_else(unix_now);
        let all = futures::stream::once(async move { Ok(first) })
            .chain(chunks)
            .boxed();
        Ok(CompletionStream {
            id,
            provider: NAME,
            model,
            created,
            events: openai_stream::events(all),
        })
    }

    /// Whether the upstream answers at all (`GET /models`), for `/health`: `Ok`
    /// with its status, or why it could not be reached.
    pub async fn probe(&self, timeout: std::time::Duration) -> Result<u16, String> {
        let url = self.upstream.endpoint("models");
        let span = trace_context::client_span(DEPENDENCY, "GET models", &url);
        let mut call = self
            .http
            .get(&url)
            .headers(span.in_scope(trace_context::headers))
            .timeout(timeout);
        if let Some(key) = &self.upstream.api_key {
            call = call.bearer_auth(key.expose());
        }
        let answer = call.send().instrument(span.clone()).await;
        match answer {
            Ok(r) => {
                trace_context::record_status(&span, r.status().as_u16());
                Ok(r.status().as_u16())
            }
            Err(e) => {
                let detail = error_chain(&e);
                trace_context::record_error(&span, &detail);
                Err(detail)
            }
        }
    }
}

async fn read_json(answer: reqwest::Response) -> Result<Value, GatewayError> {
    let text = answer.text().await.map_err(|e| GatewayError::Upstream {
        provider: NAME,
        status: None,
        detail: format!("its answer broke off: {}", error_chain(&e)),
    })?;
    serde_json::from_str(&text).map_err(|e| GatewayError::Upstream {
        provider: NAME,
        status: None,
        detail: format!("its answer is not JSON ({e}): {}", error_detail(&text)),
    })
}

/// A chat completion from the upstream's JSON (choices normalised as the earlier
/// service did: a missing role is the assistant's, a `text` choice is content).
pub(super) fn completion_from(
    data: Value,
    requested_model: &str,
) -> Result<Completion, GatewayError> {
    let Some(choices) = data["choices"].as_array().filter(|c| !c.is_empty()) else {
        return Err(GatewayError::Upstream {
            provider: NAME,
            status: None,
            detail: format!(
                "its answer has no choices: {}",
                error_detail(&data.to_string())
            ),
        });
    };
    let choices = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let message = &choice["message"];
            let content = message["content"]
                .as_str()
                .or_else(|| choice["text"].as_str())
                .unwrap_or_default();
            let role = message["role"]
                .as_str()
                .and_then(hermes_engine::llm::types::role_from_name)
                .unwrap_or(Role::Assistant);
            Choice {
                index: choice["index"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(i as u32),
                message: Message {
                    role,
                    content: content.to_owned(),
                    name: message["name"].as_str().map(str::to_owned),
                },
                finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
            }
        })
        .collect();
    Ok(Completion {
        id: data["id"]
            .as_str()
            .map_or_else(|| new_id(NAME), str::to_owned),
        provider: NAME,
        model: data["model"]
            .as_str()
            .map_or_else(|| requested_model.to_owned(), str::to_owned),
        created: data["created"].as_i64().unwrap_or_else(unix_now),
        choices,
        usage: parse_usage(&data["usage"]),
        raw: Some(data),
    })
}

fn error_detail(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| upstream_error_message(&v))
        .unwrap_or_else(|| body.trim().to_owned());
    let mut detail: String = message.chars().take(MAX_DETAIL_CHARS).collect();
    if detail.len() < message.len() {
        detail.push('…');
    }
    if detail.is_empty() {
        detail.push_str("(empty body)");
    }
    detail
}

/// reqwest's error with its causes ("error sending request: ... Connection refused").
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_engine::llm::types::Usage;

    #[test]
    fn completions_are_normalised_and_keep_the_raw_payload() {
        let data = json!({
            "id": "cmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m-7b",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"},
                {"text": "legacy", "finish_reason": null}
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3}
        });
        let c = completion_from(data.clone(), "asked").unwrap();
        assert_eq!(
            (c.id.as_str(), c.model.as_str(), c.created),
            ("cmpl-1", "m-7b", 1700000000)
        );
        assert_eq!(c.text(), "Paris.");
        assert_eq!(c.choices[1].message.content, "legacy");
        assert_eq!(c.choices[1].index, 1);
        assert_eq!(c.choices[1].finish_reason, None);
        assert_eq!(c.usage, Some(Usage::new(9, 3)));
        assert_eq!(c.raw, Some(data));

        let err = completion_from(json!({"object": "list"}), "m").unwrap_err();
        assert_eq!(err.status_code(), 502);
    }

    #[test]
    fn error_bodies_are_read_in_every_common_shape() {
        assert_eq!(
            error_detail(r#"{"error": {"message": "bad key", "type": "auth"}}"#),
            "bad key"
        );
        assert_eq!(error_detail(r#"{"error": "rate limited"}"#), "rate limited");
        assert_eq!(error_detail(r#"{"detail": "Not Found"}"#), "Not Found");
        assert_eq!(error_detail("  upstream exploded \n"), "upstream exploded");
        assert_eq!(error_detail(""), "(empty body)");
        assert_eq!(
            error_detail(&"x".repeat(2000)).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
    }
}
