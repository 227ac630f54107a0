//! `POST /llm`: the contract's `LLMRequest` -> `LLMResponse`, through the gateway.
//! `stream: true` (an extension of the contract) answers Server-Sent Events in
//! OpenAI's chunk format, each chunk naming the provider.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::time::Instant;

use super::llm_fields::{above_cap, boolean, check_inputs, integer_at_least, number_in};
use super::openapi::bodies::{
    ErrorDetail, LlmMessage as LlmMessageSchema, LlmResponse, ValidationError,
};
use super::openapi::openai_bodies::StreamEvent;
use super::sse::{self, Framing};
use crate::error::ApiError;
use crate::error::gateway_status;
use crate::extract::{Fields, FromJsonBody, ValidJson, parse};
use crate::llm_metrics::ROUTE_LLM;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::usecases::answer_and_propose::{self as answered, AnsweredCompletion};
use hermes_engine::llm::types::{ROLES, role_from_name};
use hermes_engine::llm::{Completion, CompletionRequest, GatewayError, Message};
use hermes_engine::models::llm::Role;

/// The contract's default temperature.
pub const DEFAULT_TEMPERATURE: f64 = 0.7;
/// The earlier service's answer to a request with neither.
pub const NO_INPUT: &str = "Either 'prompt' or 'messages' must be provided.";

/// `LLMMessage`.
struct LlmMessage(Message);

impl FromJsonBody for LlmMessage {
    const NAME: &'static str = "LLMMessage";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let role = f.required("role", parse::literal(ROLES));
        let content = f.required("content", parse::string);
        let name = f.optional("name", parse::string);
        Some(Self(Message {
            role: role.and_then(role_from_name)?,
            content: content?,
            name: name?,
        }))
    }
}

/// `LLMRequest` (plus `stream`): `prompt` or `messages` (400 when neither).
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = LLMRequest)]
pub struct LlmRequest {
    /// Shortcut for a single user message when `messages` is omitted.
    #[schema(required = false)]
    prompt: Option<String>,
    /// Conversation history forwarded to the provider.
    #[schema(required = false, value_type = Option<Vec<LlmMessageSchema>>)]
    messages: Option<Vec<Message>>,
    /// Override the configured provider (`openai`, `local`, `echo`).
    #[schema(required = false)]
    provider: Option<String>,
    /// Provider-specific model identifier override.
    #[schema(required = false)]
    model: Option<String>,
    /// Sampling temperature forwarded to the provider.
    #[schema(required = false, minimum = 0, maximum = 2, default = 0.7)]
    temperature: Option<f64>,
    /// Maximum number of tokens to generate (at most `HERMES_LLM_MAX_TOKENS_CAP`).
    #[schema(required = false, minimum = 1)]
    max_tokens: Option<i64>,
    /// Additional metadata stored alongside the request.
    #[schema(required = false, value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    /// Hermes's extension: answer Server-Sent Events.
    #[schema(required = false, default = false)]
    stream: bool,
}

impl FromJsonBody for LlmRequest {
    const NAME: &'static str = "LLMRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let prompt = f.optional("prompt", parse::string);
        let messages = f.optional("messages", parse::list(parse::model::<LlmMessage>));
        let provider = f.optional("provider", parse::string);
        let model = f.optional("model", parse::string);
        let temperature = f.with_default(
            "temperature",
            || Some(DEFAULT_TEMPERATURE),
            |v, loc, issues| match v {
                Value::Null => Some(None),
                v => number_in(0.0, 2.0)(v, loc, issues).map(Some),
            },
        );
        let max_tokens = f.optional("max_tokens", integer_at_least(1));
        let metadata = f.optional("metadata", parse::object);
        let stream = f.with_default("stream", || false, boolean);
        Some(Self {
            prompt: prompt?,
            messages: messages?.map(|m| m.into_iter().map(|m| m.0).collect()),
            provider: provider?,
            model: model?,
            temperature: temperature?,
            max_tokens: max_tokens?,
            metadata: metadata?,
            stream: stream?,
        })
    }
}

/// A gateway failure as FastAPI would send it: `{"detail": "..."}`.
fn error_response(err: GatewayError) -> Response {
    err.log();
    (
        gateway_status(&err),
        Json(json!({ "detail": err.client_detail() })),
    )
        .into_response()
}

fn bad_request(detail: &str) -> Response {
    error_response(GatewayError::BadRequest(detail.to_owned()))
}

/// `LLMResponse`.
fn llm_response(c: &Completion) -> Value {
    json!({
        "id": c.id,
        "provider": c.provider,
        "model": c.model,
        "created": c.created,
        "choices": c.choices,
        "usage": c.usage,
        "raw": c.raw,
    })
}

#[utoipa::path(
    post,
    path = "/llm",
    operation_id = "llmGenerate",
    tag = "hermes",
    summary = "LLM gateway",
    request_body = LlmRequest,
    responses(
        (status = 200, description = "The completion (`stream: true`: Server-Sent Events)", content(
            (LlmResponse = "application/json"),
            (StreamEvent = "text/event-stream"),
        )),
        (status = 400, description = "Neither prompt nor messages", body = ErrorDetail),
        (status = 422, description = "Body not valid (temperature outside 0..2, max_tokens < 1 or above the cap, a prompt or message longer than `HERMES_MAX_TEXT_CHARS`, a malformed model name)", body = ValidationError),
        (status = 502, description = "The provider answered with an error", body = ErrorDetail),
        (status = 503, description = "Provider not configured or unknown, or the Sophia proposal queue is full", body = ErrorDetail),
    )
)]
pub async fn llm(
    State(state): State<AppState>,
    request_id: Option<Extension<RequestId>>,
    ValidJson(body): ValidJson<LlmRequest>,
) -> Response {
    let started = Instant::now();
    let loc = vec![json!("body"), json!("max_tokens")];
    if let Some(issue) = above_cap(body.max_tokens, state.config.llm.max_tokens_cap, loc) {
        return ApiError::Validation(vec![issue]).into_response();
    }
    if let Err(e) = check_inputs(
        body.prompt.as_deref(),
        body.messages.as_deref().unwrap_or_default(),
        body.model.as_deref(),
        state.config.protection.max_text_chars,
    ) {
        return e.into_response();
    }
    let messages = match body.messages.filter(|m| !m.is_empty()) {
        Some(messages) => messages,
        None => match body.prompt.as_deref().map(str::trim) {
            Some(prompt) if !prompt.is_empty() => vec![Message::new(Role::User, prompt)],
            _ => return bad_request(NO_INPUT),
        },
    };
    let request = CompletionRequest {
        messages,
        model: body.model.filter(|m| !m.trim().is_empty()),
        temperature: body.temperature,
        top_p: None,
        max_tokens: body.max_tokens.and_then(|n| usize::try_from(n).ok()),
        seed: None,
        metadata: body.metadata,
    };
    if let Err(full) = answered::check_room(&state) {
        tracing::warn!(error = %full, "llm request refused: its Sophia proposal could not be kept");
        return ApiError::Unavailable(format!(
            "The answer's proposal for Sophia cannot be queued ({full}); retry later"
        ))
        .into_response();
    }
    let gateway = &state.gateway;
    let provider = match gateway.select(body.provider.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    let request_id = request_id
        .map(|Extension(RequestId(id))| id)
        .unwrap_or_default();

    if body.stream {
        let stream = match gateway.stream(provider, &request).await {
            Ok(s) => s,
            Err(e) => return error_response(e),
        };
        let timer = state
            .metrics
            .llm
            .stream(ROUTE_LLM, stream.provider, started);
        let (provider, model, created) = (stream.provider, stream.model.clone(), stream.created);
        let on_complete = Box::new(move |text: String| {
            answered::completion_answered(
                &state,
                AnsweredCompletion {
                    request_id,
                    provider,
                    model,
                    created,
                    text,
                },
            );
        });
        let framing = Framing {
            with_provider: true,
            include_usage: true,
        };
        return sse::response(stream, framing, Some(on_complete), timer);
    }

    let generating = Instant::now();
    let completion = match gateway.complete(provider, &request).await {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    state.metrics.llm.observe_completion(
        ROUTE_LLM,
        completion.provider,
        completion.usage,
        generating.elapsed().as_secs_f64(),
    );
    tracing::info!(
        provider = completion.provider,
        model = %completion.model,
        prompt_tokens = completion.usage.map(|u| u.prompt_tokens),
        completion_tokens = completion.usage.map(|u| u.completion_tokens),
        "llm completion"
    );
    let response = Json(llm_response(&completion)).into_response();
    answered::completion_answered(
        &state,
        AnsweredCompletion {
            request_id,
            provider: completion.provider,
            model: completion.model.clone(),
            created: completion.created,
            text: completion.text().to_owned(),
        },
    );
    response
}
