//! `POST /embed_text`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use hermes_engine::services::embedding::EmbedError;

use super::openapi::bodies::{ErrorDetail, ValidationError};
use crate::error::ApiError;
use crate::extract::{Fields, FromJsonBody, ValidJson, parse};
use crate::protection::input;
use crate::state::AppState;
use crate::usecases::embed_and_store::{EmbedAndStoreError, embed_and_store};

#[derive(Debug, utoipa::ToSchema)]
#[schema(as = EmbedTextRequest)]
pub struct EmbedRequest {
    /// Text to embed: not blank, at most `HERMES_MAX_TEXT_CHARS` characters.
    #[schema(pattern = r"\S")]
    text: String,
    /// `default` or an embedding model id.
    #[schema(
        required = false,
        default = "default",
        pattern = r"^[A-Za-z0-9_.-]+$",
        max_length = 128
    )]
    model: String,
}

impl FromJsonBody for EmbedRequest {
    const NAME: &'static str = "EmbedTextRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let text = f.required("text", parse::string);
        let model = f.with_default("model", || "default".to_owned(), parse::string);
        Some(Self {
            text: text?,
            model: model?,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EmbedTextResponse)]
pub struct EmbedResponse {
    embedding: Vec<f32>,
    dimension: usize,
    model: &'static str,
    embedding_id: String,
    /// True only once Milvus acknowledged the write.
    persisted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    warning: Option<String>,
}

#[utoipa::path(
    post,
    path = "/embed_text",
    operation_id = "embedText",
    tag = "hermes",
    summary = "Text embedding generation",
    request_body = EmbedRequest,
    responses(
        (status = 200, description = "The text's embedding", body = EmbedResponse),
        (status = 400, description = "Blank text or unknown model", body = ErrorDetail),
        (status = 422, description = "Body not valid, text too long, or model id malformed", body = ValidationError),
        (status = 503, description = "No embedding model served or loaded, queue full, or the store refused it", body = ErrorDetail),
    )
)]
pub async fn embed_text(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<EmbedRequest>,
) -> Result<Json<EmbedResponse>, ApiError> {
    input::Checks::new(state.config.protection.max_text_chars)
        .text(input::field("text"), &req.text)
        .model_id(input::field("model"), &req.model)
        .finish()?;
    let text_chars = req.text.chars().count();
    let stored = match embed_and_store(&state, req.text, &req.model).await {
        Ok(stored) => stored,
        Err(EmbedAndStoreError::Embed(e)) => return Err(to_api_error(e)),
        Err(EmbedAndStoreError::Store(e)) => {
            return Err(ApiError::Unavailable(format!(
                "The embedding could not be stored: {e}"
            )));
        }
    };
    let embedded = stored.embedding;
    tracing::info!(model = embedded.model, text_chars, "text embedded");
    Ok(Json(EmbedResponse {
        dimension: embedded.vector.len(),
        embedding: embedded.vector,
        model: embedded.model,
        embedding_id: embedded.embedding_id,
        persisted: stored.persisted,
        warning: stored.warning,
    }))
}

pub(crate) fn to_api_error(err: EmbedError) -> ApiError {
    match err {
        EmbedError::EmptyText => ApiError::empty_text(),
        EmbedError::Model(e) => e.into(),
        EmbedError::Worker(e) => e.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use hermes_engine::models::registry::ResolveError;
    use hermes_engine::models::worker::WorkerError;

    #[test]
    fn service_errors_map_to_contract_statuses() {
        let cases = [
            (EmbedError::EmptyText, StatusCode::BAD_REQUEST),
            (
                EmbedError::Model(ResolveError::UnknownModel {
                    task: "embedding",
                    requested: "x".into(),
                    available: vec!["default"],
                }),
                StatusCode::BAD_REQUEST,
            ),
            (
                EmbedError::Model(ResolveError::Loading { model: "m" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                EmbedError::Model(ResolveError::NotServed { task: "embedding" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                EmbedError::Worker(WorkerError::Busy {
                    model: "m",
                    queue: 1,
                }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                EmbedError::Worker(WorkerError::Crashed {
                    model: "m",
                    reason: "inference panicked",
                }),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            let text = err.to_string();
            assert_eq!(to_api_error(err).status(), status, "{text}");
        }
    }
}
