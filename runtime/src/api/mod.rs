//! The HTTP surface: routes, and the layers every response passes through.
//!
//! The canonical API is served at the legacy unversioned paths and under `/v1`;
//! probes and metrics only at the root. Layers, innermost first: metrics (needs
//! the matched route), CORS, request id (outermost, so every response carries
//! it). Protection: JSON errors and `Retry-After` just inside CORS (so they see
//! every error, metrics' included), then metrics, the JSON body limit, API keys,
//! the feature flags' 503, rate limits (inside metrics, so 401s and 429s are
//! counted) and the per-route request timeout (504).

mod chat_completions;
mod embed;
mod features;
mod feedback;
#[cfg(test)]
mod fuzz_json;
mod health;
mod ingest_media;
mod limited_body;
mod llm;
mod llm_fields;
mod meta;
mod openai_audio;
mod openai_embeddings;
mod openai_errors;
pub(crate) mod openapi;
mod probes;
mod simple_nlp;
mod sse;
mod stt;
mod tts;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware;
use axum::routing::{get, post};
use hermes_interface::probes as paths;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::config::CorsOrigins;
use crate::error::ApiError;
use crate::protection as protect;
use crate::state::AppState;
use crate::{metrics, request_id};

/// The canonical Hermes API (mounted twice: `/` and `/v1`).
fn canonical_api() -> Router<AppState> {
    Router::new()
        .route("/", get(meta::root))
        .route(paths::HEALTH_PATH, get(health::health))
        .route("/embed_text", post(embed::embed_text))
        .route("/feedback", post(feedback::feedback))
        // /stt streams and limits its upload itself (HERMES_STT_MAX_BYTES).
        .route("/stt", post(stt::stt).layer(DefaultBodyLimit::disable()))
        .route("/tts", post(tts::tts))
        .route("/simple_nlp", post(simple_nlp::simple_nlp))
        .route("/llm", post(llm::llm))
        .route(
            "/ingest/media",
            post(ingest_media::ingest_media)
                .layer(DefaultBodyLimit::max(ingest_media::MAX_UPLOAD_BYTES)),
        )
}

pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.config.cors_origins);
    let protection = state.protection.clone();
    let body_limit = state.config.protection.max_json_body_bytes;
    Router::new()
        .route(paths::LIVENESS_PATH, get(probes::livez))
        .route(paths::READINESS_PATH, get(probes::readyz))
        .route(paths::METRICS_PATH, get(meta::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(canonical_api())
        .nest("/v1", canonical_api())
        .route("/v1/chat/completions", post(chat_completions::create))
        .route("/v1/models", get(chat_completions::models))
        .route(
            "/v1/audio/transcriptions",
            post(openai_audio::transcriptions).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/audio/speech", post(openai_audio::speech))
        .route("/v1/embeddings", post(openai_embeddings::create))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Testing aid (off by default), inside metrics so injected faults are counted.
        .layer(middleware::from_fn_with_state(
            crate::fault::Injector::new(state.config.fault),
            crate::fault::middleware,
        ))
        // Outside the fault injection, so injected latency counts against the limit.
        .layer(middleware::from_fn_with_state(
            protection.clone(),
            protect::timeout::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            protection.clone(),
            protect::throttle::middleware,
        ))
        // A capability turned off by HERMES_FEATURES_DISABLED: 503 naming the switch
        // (after the API key check, before any rate-limit token is spent).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            features::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            protection.clone(),
            protect::auth::middleware,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.config.protection.body_read_timeout,
            protect::body_deadline::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            protection,
            protect::json_errors::middleware,
        ))
        .layer(cors)
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([HeaderName::from_static(request_id::HEADER)]);
    match origins {
        CorsOrigins::Any => layer.allow_origin(Any),
        CorsOrigins::List(list) => layer.allow_origin(AllowOrigin::list(
            list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        )),
    }
}
