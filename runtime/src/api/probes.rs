//! Kubernetes probes: `/livez` (the process serves) and `/readyz` (every declared
//! model is loaded and warmed up).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;
use hermes_engine::models::registry::ModelState;

pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

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
