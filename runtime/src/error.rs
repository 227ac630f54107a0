//! API errors and their FastAPI-compatible bodies: `{"detail": "..."}`, or for
//! schema errors `{"detail": [{"loc", "msg", "type", ...}]}` with status 422.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// One element of a validation issue's `loc`: a field name or a list index (for the
/// OpenAPI document only).
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Field(String),
    Index(u64),
}

/// One entry of a 422 `detail` list, shaped like pydantic v2's errors.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ValidationIssue {
    /// Path to the offending value: `["body", "text"]`, `["body", "step_results", 0, "action"]`.
    #[schema(value_type = Vec<LocItem>)]
    pub loc: Vec<Value>,
    pub msg: String,
    /// pydantic's error type: `missing`, `string_type`, `json_invalid`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The offending input, as pydantic reports it (a bounded excerpt).
    #[schema(value_type = Value)]
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Object)]
    pub ctx: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed ({} issues)", .0.len())]
    Validation(Vec<ValidationIssue>),
    #[error("{0}")]
    BadRequest(String),
    #[error("Not Found")]
    NotFound,
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    /// A 413 whose detail says which limit (e.g. an `/stt` upload).
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    /// Logged with its detail; clients see a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's message for blank text on `/embed_text`, `/tts`, `/simple_nlp`.
    pub fn empty_text() -> Self {
        ApiError::BadRequest("Text cannot be empty".into())
    }
}

/// Every capability resolves its model the same way: an unknown model is the
/// caller's mistake (400), one not served, loading or failed is unavailable (503).
impl From<hermes_engine::models::registry::ResolveError> for ApiError {
    fn from(e: hermes_engine::models::registry::ResolveError) -> Self {
        match e {
            hermes_engine::models::registry::ResolveError::UnknownModel { .. } => {
                ApiError::BadRequest(e.to_string())
            }
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// A full queue is a 503 the client may retry; a crashed worker is our fault.
impl From<hermes_engine::models::worker::WorkerError> for ApiError {
    fn from(e: hermes_engine::models::worker::WorkerError) -> Self {
        match e {
            hermes_engine::models::worker::WorkerError::Busy { .. } => {
                ApiError::Unavailable(e.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match self {
            ApiError::Validation(mut issues) => {
                for issue in &mut issues {
                    issue.input = crate::protection::excerpt::excerpt(&issue.input);
                }
                json!(issues)
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                json!("Internal Server Error")
            }
            ApiError::PayloadTooLarge => json!("Request body too large"),
            other => json!(other.to_string()),
        };
        (status, Json(json!({ "detail": detail }))).into_response()
    }
}

/// The HTTP status of an LLM gateway failure (the engine gives the code).
pub fn gateway_status(err: &hermes_engine::llm::GatewayError) -> StatusCode {
    StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body_of(err: ApiError) -> (StatusCode, Value) {
        let response = err.into_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn bodies_match_fastapi() {
        assert_eq!(
            body_of(ApiError::empty_text()).await,
            (
                StatusCode::BAD_REQUEST,
                json!({"detail": "Text cannot be empty"})
            )
        );
        assert_eq!(
            body_of(ApiError::NotFound).await,
            (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
        );
        assert_eq!(
            body_of(ApiError::MethodNotAllowed).await,
            (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"detail": "Method Not Allowed"})
            )
        );
        assert_eq!(
            body_of(ApiError::Internal("disk on fire".into())).await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"detail": "Internal Server Error"})
            )
        );
        let issue = ValidationIssue {
            loc: vec![json!("body"), json!("text")],
            msg: "Field required".into(),
            kind: "missing",
            input: json!({}),
            ctx: None,
        };
        assert_eq!(
            body_of(ApiError::Validation(vec![issue])).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": [{"loc": ["body", "text"], "msg": "Field required", "type": "missing", "input": {}}]})
            )
        );
    }
}
