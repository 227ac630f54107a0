//! `GET /health` (and HEAD): the contract's health document, plus per-model load
//! details. Each dependency reports its own truth (connected, target, reason);
//! `features` says which capabilities and deliveries are on (`HERMES_FEATURES_DISABLED`).

use axum::Json;
use axum::extract::State;
use hermes_interface::Task;
use serde_json::{Value, json};

use crate::state::{AppState, VERSION};
use hermes_engine::models::SERVED_TASKS;

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "hermes",
    summary = "Service, dependency and capability health (200 while the process serves)",
    responses((status = 200, description = "The health document", body = super::openapi::bodies::Health))
)]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let registry = &state.registry;
    let config = &state.config;
    let capability = |task: Task| {
        if config.features.task_on(task) && registry.task_available(task) {
            "available"
        } else {
            "unavailable"
        }
    };
    // Milvus turned off is no degradation: nothing is meant to reach it.
    let milvus_ok = !config.features.milvus || state.deliveries.embeddings.healthy();
    let status = if registry.all_ready() && milvus_ok {
        "healthy"
    } else {
        "degraded"
    };
    let llm_dependency = crate::gateway::health::llm_dependency(&state.gateway).await;
    let mut body = json!({
        "status": status,
        "service": "hermes",
        "version": VERSION,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "uptime_seconds": state.started_at.elapsed().as_secs_f64(),
        "dependencies": {
            "milvus": state.deliveries.embeddings.health(),
            "llm": llm_dependency,
        },
        "capabilities": {
            "stt": capability(Task::Stt),
            "tts": capability(Task::Tts),
            "nlp": capability(Task::Nlp),
            "embeddings": capability(Task::Embedding),
            "llm": capability(Task::Llm),
        },
        "features": config.features.health(),
        "served_tasks": SERVED_TASKS,
        "models": registry.reports(),
    });
    if !config.features.milvus {
        // Nothing connects to it: say so instead of a stale "connecting".
        let milvus = &mut body["dependencies"]["milvus"];
        milvus["status"] = json!("disabled");
        milvus["connected"] = json!(false);
        milvus["details"]["reason"] =
            json!("Milvus persistence is switched off (HERMES_FEATURES_DISABLED=milvus)");
    }
    if let Some(fault) = config.fault.health() {
        body["fault_injection"] = fault;
    }
    Json(body)
}
