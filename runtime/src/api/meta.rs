//! `GET /` (service description) and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::metrics;
use crate::state::{AppState, VERSION};

/// The endpoints of the canonical API, as listed by `GET /`.
pub const ENDPOINTS: &[&str] = &[
    "/stt",
    "/tts",
    "/simple_nlp",
    "/embed_text",
    "/llm",
    "/ingest/media",
    "/feedback",
    "/health",
];

#[utoipa::path(
    get,
    path = "/",
    operation_id = "root",
    tag = "hermes",
    summary = "Service description",
    responses((status = 200, description = "Name, version and endpoints", body = super::openapi::bodies::ServiceInfo))
)]
pub async fn root() -> Json<Value> {
    Json(json!({
        "name": "Hermes API",
        "version": VERSION,
        "description": "Stateless language and embedding utility of Project LOGOS: speech-to-text, text-to-speech, simple NLP, text embeddings and an LLM gateway",
        "endpoints": ENDPOINTS,
    }))
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.metrics.observe_models(&state.registry.reports());
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::Internal(format!("metrics encoding failed: {e}")))?;
    Ok(([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}
