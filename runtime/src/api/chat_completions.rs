//! OpenAI-compatible `POST /v1/chat/completions` over the same providers as `/llm`,
//! and `GET /v1/models` listing every served model, so that OpenAI clients can point
//! at Hermes. Errors use OpenAI's shape ([`super::openai_errors`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use hermes_interface::Task;
use serde_json::{Value, json};
use std::time::Instant;

use super::llm_fields::{above_cap, boolean, check_inputs, integer_at_least, number_in};
use super::openai_errors::{from_api_error, invalid, openai_error};
use super::openapi::openai_bodies::{
    ChatCompletion, ChatCompletionRequest, ModelList, OpenAiError, StreamEvent,
};
use super::sse::{self, Framing};
use crate::error::gateway_status;
use crate::error::{ApiError, ValidationIssue};
use crate::extract::{Fields, FromJsonBody, Issues, Loc, parse, parse_body, validate_body};
use crate::llm_metrics::ROUTE_CHAT_COMPLETIONS;
use crate::state::AppState;
use hermes_engine::llm::echo;
use hermes_engine::llm::types::role_from_name;
use hermes_engine::llm::{Completion, CompletionRequest, GatewayError, Message, ProviderKind};
use hermes_engine::models::llm::Role;

/// OpenAI's roles; `developer` is its newer name for `system`.
const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

struct ChatMessage(Message);

/// `content`: a string, a list of parts (their `text`s are joined), or null.
fn content(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Array(parts) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                match (part["type"].as_str(), part["text"].as_str()) {
                    (Some("text"), Some(t)) => text.push_str(t),
                    _ => {
                        let mut at = loc.clone();
                        at.push(json!(i));
                        issues.push(ValidationIssue {
                            loc: at,
                            msg: "only text content parts are supported".into(),
                            kind: "value_error",
                            input: part.clone(),
                            ctx: None,
                        });
                        return None;
                    }
                }
            }
            Some(text)
        }
        other => parse::string(other, loc, issues),
    }
}

impl FromJsonBody for ChatMessage {
    const NAME: &'static str = "ChatCompletionMessage";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let role = f.required("role", parse::literal(ROLES));
        let text = f.with_default("content", String::new, content);
        let name = f.optional("name", parse::string);
        let role = match role? {
            "developer" => Role::System,
            other => role_from_name(other)?,
        };
        Some(Self(Message {
            role,
            content: text?,
            name: name?,
        }))
    }
}

#[derive(Debug)]
pub(super) struct ChatRequest {
    request: CompletionRequest,
    provider: Option<String>,
    stream: bool,
    include_usage: bool,
    n: Option<i64>,
}

impl FromJsonBody for ChatRequest {
    const NAME: &'static str = "ChatCompletionRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let model = f.optional("model", parse::string);
        let messages = f.required("messages", parse::list(parse::model::<ChatMessage>));
        let temperature = f.optional("temperature", number_in(0.0, 2.0));
        let top_p = f.optional("top_p", number_in(0.0, 1.0));
        let max_tokens = f.optional("max_tokens", integer_at_least(1));
        let max_completion_tokens = f.optional("max_completion_tokens", integer_at_least(1));
        let seed = f.optional("seed", parse::integer);
        let n = f.optional("n", integer_at_least(1));
        let stream = f.with_default("stream", || false, boolean);
        let stream_options = f.optional("stream_options", parse::object);
        let provider = f.optional("provider", parse::string);
        let metadata = f.optional("metadata", parse::object);
        let include_usage = stream_options
            .clone()
            .flatten()
            .is_some_and(|o| o.get("include_usage").and_then(Value::as_bool) == Some(true));
        Some(Self {
            request: CompletionRequest {
                messages: messages?.into_iter().map(|m| m.0).collect(),
                model: model?,
                temperature: temperature?,
                top_p: top_p?,
                max_tokens: max_completion_tokens?
                    .or(max_tokens?)
                    .and_then(|n| usize::try_from(n).ok()),
                seed: seed?.map(|s| s as u64),
                metadata: metadata?,
            },
            provider: provider?,
            stream: stream?,
            include_usage,
            n: n?,
        })
    }
}

fn gateway_error(err: GatewayError) -> Response {
    err.log();
    openai_error(
        gateway_status(&err),
        err.openai_type(),
        err.client_detail(),
        None,
    )
}

fn chat_completion(c: &Completion) -> Value {
    let choices: Vec<Value> = c
        .choices
        .iter()
        .map(|choice| {
            json!({
                "index": choice.index,
                "message": { "role": choice.message.role.as_str(), "content": choice.message.content },
                "logprobs": null,
                "finish_reason": choice.finish_reason,
            })
        })
        .collect();
    let mut body = json!({
        "id": c.id,
        "object": "chat.completion",
        "created": c.created,
        "model": c.model,
        "choices": choices,
        "provider": c.provider,
    });
    if let Some(usage) = c.usage {
        body["usage"] = json!(usage);
    }
    body
}

#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    operation_id = "createChatCompletion",
    tag = "openai",
    summary = "OpenAI-compatible chat completion over the `/llm` providers",
    request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "The completion (`stream: true`: Server-Sent Events of `chat.completion.chunk`)", content(
            (ChatCompletion = "application/json"),
            (StreamEvent = "text/event-stream"),
        )),
        (status = 400, description = "Body not valid", body = OpenAiError),
        (status = 502, description = "The provider answered with an error", body = OpenAiError),
        (status = 503, description = "Provider not configured, unknown or unreachable", body = OpenAiError),
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let parsed = parse_body(content_type, &body).and_then(|v| validate_body::<ChatRequest>(&v));
    let chat = match parsed {
        Ok(chat) => chat,
        Err(e) => return from_api_error(e),
    };
    if chat.request.messages.is_empty() {
        return invalid("messages must contain at least one message", "messages");
    }
    if let Err(e) = check_inputs(
        None,
        &chat.request.messages,
        chat.request.model.as_deref(),
        state.config.protection.max_text_chars,
    ) {
        return from_api_error(e);
    }
    let asked = chat
        .request
        .max_tokens
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let loc = vec![json!("body"), json!("max_tokens")];
    if let Some(issue) = above_cap(asked, state.config.llm.max_tokens_cap, loc) {
        return from_api_error(ApiError::Validation(vec![issue]));
    }
    if chat.n.is_some_and(|n| n != 1) {
        return invalid("only n=1 is supported", "n");
    }
    let gateway = &state.gateway;
    let provider = match gateway.select(chat.provider.as_deref()) {
        Ok(p) => p,
        Err(e) => return gateway_error(e),
    };
    if chat.stream {
        return match gateway.stream(provider, &chat.request).await {
            Ok(stream) => {
                let framing = Framing {
                    with_provider: false,
                    include_usage: chat.include_usage,
                };
                let timer =
                    state
                        .metrics
                        .llm
                        .stream(ROUTE_CHAT_COMPLETIONS, stream.provider, started);
                sse::response(stream, framing, None, timer)
            }
            Err(e) => gateway_error(e),
        };
    }
    let generating = Instant::now();
    match gateway.complete(provider, &chat.request).await {
        Ok(completion) => {
            state.metrics.llm.observe_completion(
                ROUTE_CHAT_COMPLETIONS,
                completion.provider,
                completion.usage,
                generating.elapsed().as_secs_f64(),
            );
            Json(chat_completion(&completion)).into_response()
        }
        Err(e) => gateway_error(e),
    }
}

/// `GET /v1/models`: every model this runtime serves, with its task (`embedding`,
/// `stt`, `tts`, `nlp`, `llm`), and the models the other LLM providers answer with.
#[utoipa::path(
    get,
    path = "/v1/models",
    operation_id = "listModels",
    tag = "openai",
    summary = "Every served model, with its task",
    responses((status = 200, description = "The models", body = ModelList))
)]
pub async fn models(State(state): State<AppState>) -> Json<Value> {
    let gateway = &state.gateway;
    let mut data = Vec::new();
    let mut add = |id: &str, owner: &str, task: Task| {
        data.push(json!({
            "id": id,
            "object": "model",
            "created": 0,
            "owned_by": owner,
            "task": task.as_str(),
        }));
    };
    for task in [Task::Embedding, Task::Stt, Task::Tts, Task::Nlp] {
        for id in state.registry.model_ids(task) {
            add(id, "hermes", task);
        }
    }
    for provider in ProviderKind::ALL
        .into_iter()
        .filter(|p| gateway.is_configured(*p))
    {
        match provider {
            ProviderKind::Local => {
                for id in state.registry.model_ids(Task::Llm) {
                    add(id, provider.as_str(), Task::Llm);
                }
            }
            ProviderKind::Openai => {
                if let Some(upstream) = &gateway.settings.openai {
                    add(&upstream.model, provider.as_str(), Task::Llm);
                }
            }
            ProviderKind::Echo => add(echo::DEFAULT_MODEL, provider.as_str(), Task::Llm),
        }
    }
    Json(json!({ "object": "list", "data": data }))
}
