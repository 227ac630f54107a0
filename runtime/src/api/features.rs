//! The routes of a capability turned off by `HERMES_FEATURES_DISABLED` answer 503
//! with a JSON detail naming the switch (OpenAI's `error` object on the OpenAI
//! routes), as the same routes answer when their model is not installed; with
//! `sophia` off, `/ingest/media` (whose purpose is forwarding) answers the same way.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Features;
use crate::protection::json_errors::{error_body, is_openai_path};
use crate::protection::ratelimit::route_of;
use crate::state::AppState;

/// An upload up to this size is read before the refusal, for at most [`DRAIN_TIMEOUT`].
const DRAIN_LIMIT_BYTES: usize = 32 * 1024 * 1024;
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The disabled feature a request to `path` needs, if any.
pub fn disabled_for(features: &Features, path: &str) -> Option<&'static str> {
    let (name, on) = match route_of(path)? {
        "stt" => ("stt", features.stt),
        "tts" => ("tts", features.tts),
        "embed_text" => ("embeddings", features.embeddings),
        "simple_nlp" => ("nlp", features.nlp),
        "llm" => ("llm", features.llm),
        "ingest" => ("sophia", features.sophia),
        _ => return None,
    };
    (!on).then_some(name)
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(name) = disabled_for(&state.config.features, req.uri().path()) else {
        return next.run(req).await;
    };
    let openai = is_openai_path(req.uri().path());
    // Read (and drop) a modest upload first: answering while the client still sends
    // would reset the connection under it and lose the answer.
    let _ = tokio::time::timeout(
        DRAIN_TIMEOUT,
        axum::body::to_bytes(req.into_body(), DRAIN_LIMIT_BYTES),
    )
    .await;
    let message = format!(
        "The {name} feature is turned off on this server (HERMES_FEATURES_DISABLED={name})"
    );
    let status = StatusCode::SERVICE_UNAVAILABLE;
    (status, Json(error_body(openai, status, &message))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_its_feature() {
        let off = Features::parse("stt,tts,embeddings,nlp,llm,sophia").unwrap();
        for (path, name) in [
            ("/stt", "stt"),
            ("/v1/audio/transcriptions", "stt"),
            ("/v1/tts", "tts"),
            ("/v1/audio/speech", "tts"),
            ("/embed_text", "embeddings"),
            ("/v1/embeddings", "embeddings"),
            ("/simple_nlp", "nlp"),
            ("/v1/chat/completions", "llm"),
            ("/llm", "llm"),
            ("/ingest/media", "sophia"),
        ] {
            assert_eq!(disabled_for(&off, path), Some(name), "{path}");
            assert_eq!(disabled_for(&Features::default(), path), None, "{path}");
        }
        for path in ["/health", "/feedback", "/v1/models", "/metrics"] {
            assert_eq!(disabled_for(&off, path), None, "{path}");
        }
    }
}
