//! OpenAI-compatible `POST /v1/embeddings`: `input` (a string or a list of strings,
//! at most `HERMES_EMBEDDINGS_MAX_INPUTS`, each within `HERMES_MAX_TEXT_CHARS`),
//! `model` (a catalog id or `default`), `encoding_format` (`float`, or `base64` of
//! little-endian float32 as the official SDKs ask by default), `dimensions` (only
//! the model's own). Every input is embedded (all queued at once, so they share the
//! engine's forward passes) and, once all succeeded, stored like `/embed_text`'s
//! (Milvus, else the outbox); each item carries its `embedding_id`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::embed::to_api_error;
use super::openai_errors::{from_api_error, invalid};
use super::openapi::openai_bodies::{EmbeddingsList, OpenAiError};
use crate::error::ApiError;
use crate::extract::parse_body;
use crate::protection::input;
use crate::state::AppState;
use crate::usecases::embed_and_store::store;
use hermes_engine::services::embedding::{self, EmbedError};

/// A request, checked.
#[derive(Debug, PartialEq)]
struct EmbeddingsRequest {
    inputs: Vec<String>,
    model: String,
    base64: bool,
    dimensions: Option<u64>,
}

/// A body problem: the message and the field (OpenAI's `param`).
#[derive(Debug, PartialEq)]
struct Invalid {
    message: String,
    param: String,
}

impl Invalid {
    fn new(message: impl Into<String>, param: &str) -> Self {
        Self {
            message: message.into(),
            param: param.to_owned(),
        }
    }

    fn response(self) -> Response {
        invalid(self.message, &self.param)
    }
}

/// Reads the body; `Err` is the problem an OpenAI 400 reports.
fn read(body: &Value, max_inputs: usize, max_chars: usize) -> Result<EmbeddingsRequest, Invalid> {
    let inputs = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if items.is_empty() => {
            return Err(Invalid::new("input must not be an empty list", "input"));
        }
        Value::Array(items) if items.len() > max_inputs => {
            return Err(Invalid::new(
                format!(
                    "input holds {} texts; at most {max_inputs} per request",
                    items.len()
                ),
                "input",
            ));
        }
        Value::Array(items) => {
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => texts.push(s.clone()),
                    Value::Number(_) | Value::Array(_) => {
                        return Err(Invalid::new(
                            "token arrays are not supported: send the texts as strings",
                            &format!("input[{i}]"),
                        ));
                    }
                    _ => {
                        return Err(Invalid::new(
                            "input items must be strings",
                            &format!("input[{i}]"),
                        ));
                    }
                }
            }
            texts
        }
        Value::Null => return Err(Invalid::new("input is required", "input")),
        _ => {
            return Err(Invalid::new(
                "input must be a string or a list of strings",
                "input",
            ));
        }
    };
    for (i, text) in inputs.iter().enumerate() {
        if text.trim().is_empty() {
            return Err(Invalid::new(
                "input texts must not be empty",
                &format!("input[{i}]"),
            ));
        }
        if text.chars().nth(max_chars).is_some() {
            return Err(Invalid::new(
                format!("input text is longer than {max_chars} characters"),
                &format!("input[{i}]"),
            ));
        }
    }
    let model = match &body["model"] {
        Value::String(m) if input::is_model_id(m) => m.clone(),
        Value::String(m) => {
            return Err(Invalid::new(
                format!("model {m:?} is not a model id (letters, digits, '_', '.', '-')"),
                "model",
            ));
        }
        Value::Null => return Err(Invalid::new("model is required", "model")),
        _ => return Err(Invalid::new("model must be a string", "model")),
    };
    let base64 = match &body["encoding_format"] {
        Value::Null => false,
        Value::String(f) if f == "float" => false,
        Value::String(f) if f == "base64" => true,
        _ => {
            return Err(Invalid::new(
                "encoding_format must be float or base64",
                "encoding_format",
            ));
        }
    };
    let dimensions = match &body["dimensions"] {
        Value::Null => None,
        Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
        _ => {
            return Err(Invalid::new(
                "dimensions must be a positive integer",
                "dimensions",
            ));
        }
    };
    Ok(EmbeddingsRequest {
        inputs,
        model,
        base64,
        dimensions,
    })
}

fn embed_error(err: EmbedError) -> Response {
    from_api_error(to_api_error(err))
}

/// Little-endian float32 bytes in standard base64, as OpenAI encodes them.
fn to_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[utoipa::path(
    post,
    path = "/v1/embeddings",
    operation_id = "createEmbedding",
    tag = "openai",
    summary = "OpenAI-compatible embeddings (stored like `/embed_text`'s)",
    request_body = super::openapi::openai_bodies::EmbeddingsRequest,
    responses(
        (status = 200, description = "One embedding per input", body = EmbeddingsList),
        (status = 400, description = "Body not valid, or an unknown model", body = OpenAiError),
        (status = 503, description = "No embedding model served or loaded, queue full, or the store refused it", body = OpenAiError),
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let body = match parse_body(content_type, &body) {
        Ok(body) => body,
        Err(e) => return from_api_error(e),
    };
    let limits = &state.config.protection;
    let req = match read(&body, limits.embeddings_max_inputs, limits.max_text_chars) {
        Ok(req) => req,
        Err(problem) => return problem.response(),
    };
    let dimension = match embedding::dimension(&state.registry, &req.model) {
        Ok(d) => d,
        Err(e) => return embed_error(e),
    };
    if let Some(asked) = req.dimensions
        && asked != dimension as u64
    {
        return invalid(
            format!(
                "dimensions {asked} is not available: this model's vectors have {dimension} (send {dimension} or leave it out)"
            ),
            "dimensions",
        );
    }
    let mut prompt_tokens = 0usize;
    for text in &req.inputs {
        match embedding::count_tokens(&state.registry, text, &req.model) {
            Ok(n) => prompt_tokens += n,
            Err(e) => return embed_error(e),
        }
    }
    // All queued at once; stored only when every one was embedded.
    let embedded = futures::future::join_all(
        req.inputs
            .iter()
            .map(|text| embedding::embed_text(&state.registry, text.clone(), &req.model)),
    )
    .await;
    let mut done = Vec::with_capacity(embedded.len());
    for result in embedded {
        match result {
            Ok(e) => done.push(e),
            Err(e) => return embed_error(e),
        }
    }
    let mut data = Vec::with_capacity(done.len());
    let mut model = "";
    for (index, (e, text)) in done.into_iter().zip(req.inputs).enumerate() {
        let e = match store(&state, e, text).await {
            Ok(stored) => stored.embedding,
            Err(err) => {
                return from_api_error(ApiError::Unavailable(format!(
                    "The embedding could not be stored: {err}"
                )));
            }
        };
        model = e.model;
        let vector = if req.base64 {
            json!(to_base64(&e.vector))
        } else {
            json!(e.vector)
        };
        data.push(json!({
            "object": "embedding",
            "index": index,
            "embedding": vector,
            "embedding_id": e.embedding_id,
        }));
    }
    tracing::info!(
        model,
        inputs = data.len(),
        prompt_tokens,
        "texts embedded (OpenAI route)"
    );
    Json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(body: Value) -> Value {
        let response = read(&body, 3, 20).expect_err("refused").response();
        let bytes = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 4096))
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn inputs_models_and_formats_are_checked() {
        let ok = read(
            &json!({"input": ["a", "b"], "model": "default", "encoding_format": "base64"}),
            3,
            20,
        )
        .expect("valid");
        assert_eq!(ok.inputs, ["a", "b"]);
        assert!(ok.base64);
        let cases = [
            (json!({"model": "m"}), "input", "input is required"),
            (json!({"input": [], "model": "m"}), "input", "empty list"),
            (
                json!({"input": ["a", "b", "c", "d"], "model": "m"}),
                "input",
                "at most 3",
            ),
            (
                json!({"input": [[1, 2]], "model": "m"}),
                "input[0]",
                "token arrays",
            ),
            (
                json!({"input": ["ok", ""], "model": "m"}),
                "input[1]",
                "must not be empty",
            ),
            (
                json!({"input": "x".repeat(21), "model": "m"}),
                "input[0]",
                "longer than 20",
            ),
            (json!({"input": "a"}), "model", "model is required"),
            (
                json!({"input": "a", "model": "a b"}),
                "model",
                "not a model id",
            ),
            (
                json!({"input": "a", "model": "m", "encoding_format": "int8"}),
                "encoding_format",
                "float or base64",
            ),
            (
                json!({"input": "a", "model": "m", "dimensions": -3}),
                "dimensions",
                "positive integer",
            ),
        ];
        for (body, param, says) in cases {
            let err = error_of(body.clone());
            assert_eq!(err["error"]["param"], param, "{body}: {err}");
            assert_eq!(err["error"]["type"], "invalid_request_error");
            let message = err["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{body}: {message}");
        }
    }

    #[test]
    fn base64_is_little_endian_float32() {
        assert_eq!(to_base64(&[1.0, -2.0]), "AACAPwAAAMA=");
    }
}
