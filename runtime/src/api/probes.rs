//! Kubernetes probes: `/livez` (the process serves) and `/readyz` (every declared
//! model is loaded and warmed up).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;
use hermes_engine::models::registry::ModelState;

#[utoipa::path(
    get,
    path = "/livez",
    operation_id = "livez",
    tag = "operations",
    summary = "Liveness: the process serves",
    responses((status = 200, description = "Alive", body = super::openapi::bodies::Liveness))
)]
pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness: every declared model is loaded and warmed up",
    responses(
        (status = 200, description = "Ready", body = super::openapi::bodies::Readiness),
        (status = 503, description = "A model is loading or failed", body = super::openapi::bodies::Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let models = state.registry.reports();
    let (status, word) = if models.iter().any(|m| m.state == ModelState::Failed) {
        (StatusCode::SERVICE_UNAVAILABLE, "failed")
    } else if state.registry.all_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "loading")
    };
    (status, Json(json!({ "status": word, "models": models })))
}
