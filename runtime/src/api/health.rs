//! `GET /health` (and HEAD): the contract's health document, plus per-model load
//! details. Dependencies not integrated yet are reported as what they are:
//! unavailable and not connected, with the configured target.

use axum::Json;
use axum::extract::State;
use hermes_interface::Task;
use serde_json::{Value, json};

use crate::models::SERVED_TASKS;
use crate::state::{AppState, VERSION};

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let registry = &state.registry;
    let config = &state.config;
    let capability = |task: Task| {
        if registry.task_available(task) {
            "available"
        } else {
            "unavailable"
        }
    };
    let status = if registry.all_ready() {
        "healthy"
    } else {
        "degraded"
    };
    let not_integrated = "not integrated in this build of the runtime";
    let mut body = json!({
        "status": status,
        "service": "hermes",
        "version": VERSION,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "uptime_seconds": state.started_at.elapsed().as_secs_f64(),
        "dependencies": {
            "milvus": {
                "status": "unavailable",
                "connected": false,
                "details": {
                    "host": config.milvus.host,
                    "port": config.milvus.port,
                    "collection": config.milvus.collection,
                    "reason": not_integrated,
                },
            },
            "llm": {
                "status": "unavailable",
                "connected": false,
                "details": {
                    "provider": config.llm.provider,
                    "base_url": config.llm.base_url.as_ref().map(|u| u.as_str()),
                    "model": config.llm.model,
                    "reason": not_integrated,
                },
            },
        },
        "capabilities": {
            "stt": capability(Task::Stt),
            "tts": capability(Task::Tts),
            "nlp": capability(Task::Nlp),
            "embeddings": capability(Task::Embedding),
            "llm": capability(Task::Llm),
        },
        "served_tasks": SERVED_TASKS,
        "models": registry.reports(),
    });
    if let Some(fault) = config.fault.health() {
        body["fault_injection"] = fault;
    }
    Json(body)
}
