//! Per-route request timeouts: a request whose response has not started within its
//! route's limit is cancelled and answered 504 with a JSON `detail` (OpenAI's
//! `error` object on the OpenAI routes). A streamed answer is bounded until its
//! response starts, then runs on. Work whose loss would lose data is not cancelled
//! with the request: an embedding's write runs detached (`usecases::embed_and_store`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Protection;
use super::json_errors::{error_body, is_openai_path};

/// The probes and `/metrics`: never timed out.
pub fn untimed(path: &str) -> bool {
    use hermes_interface::probes as paths;
    [
        paths::LIVENESS_PATH,
        paths::READINESS_PATH,
        paths::METRICS_PATH,
    ]
    .contains(&path)
}

/// How a limit reads in a message: `250 ms`, `30 s`, `2.5 s`.
fn human(limit: Duration) -> String {
    if limit < Duration::from_secs(1) {
        format!("{} ms", limit.as_millis())
    } else {
        format!("{} s", limit.as_secs_f64())
    }
}

pub async fn middleware(
    State(protection): State<Arc<Protection>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let limit = match protection.timeouts.of(&path) {
        Some(limit) if !untimed(&path) => limit,
        _ => return next.run(req).await,
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                path = %path,
                timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "request timed out: cancelled and answered 504"
            );
            let message = format!(
                "The request took longer than this route's limit of {} and was cancelled",
                human(limit)
            );
            let status = StatusCode::GATEWAY_TIMEOUT;
            (
                status,
                Json(error_body(is_openai_path(&path), status, &message)),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_in_the_unit_that_fits() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_millis(2500)), "2.5 s");
        assert!(untimed("/livez") && !untimed("/embed_text"));
    }
}
