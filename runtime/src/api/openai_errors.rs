//! Errors of the OpenAI-compatible routes in OpenAI's shape,
//! `{"error": {"message", "type", "param", "code"}}`, with the statuses the Hermes
//! routes use for the same failure (a body problem is OpenAI's 400).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;

pub fn openai_error(
    status: StatusCode,
    kind: &str,
    message: String,
    param: Option<String>,
) -> Response {
    let body = json!({ "error": {
        "message": message,
        "type": kind,
        "param": param,
        "code": null,
    }});
    (status, Json(body)).into_response()
}

/// A 400 about one request field.
pub fn invalid(message: impl Into<String>, param: &str) -> Response {
    openai_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message.into(),
        Some(param.to_owned()),
    )
}

/// Any API error as OpenAI reports it: a body problem is a 400 naming the first
/// field as `param` and every problem in the message; the others keep their status.
pub fn from_api_error(err: ApiError) -> Response {
    match err {
        ApiError::Validation(issues) => {
            let path = |loc: &[Value]| {
                loc.iter()
                    .skip(1)
                    .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(".")
            };
            let message = issues
                .iter()
                .map(|i| format!("{}: {}", path(&i.loc), i.msg))
                .collect::<Vec<_>>()
                .join("; ");
            let param = issues
                .first()
                .map(|i| path(&i.loc))
                .filter(|p| !p.is_empty());
            openai_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                message,
                param,
            )
        }
        ApiError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            openai_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Internal server error".into(),
                None,
            )
        }
        other => {
            let status = other.status();
            let kind = if status.is_server_error() {
                "server_error"
            } else {
                "invalid_request_error"
            };
            openai_error(status, kind, other.to_string(), None)
        }
    }
}
