//! `X-Request-ID` on every response: the client's value when it is sane, else a
//! new UUID. The id also names the request's tracing span and its access log line.
//! The span is the request's OpenTelemetry server span (`<METHOD> <route>`, with
//! its status; a 5xx marks it failed), the child of the client's `traceparent`
//! when tracing is on ([`crate::telemetry::propagation::adopt`]). Probes and
//! scrapes are logged but never exported ([`UNTRACED_TARGET`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longest client-supplied id we echo; longer ones are replaced.
const MAX_LEN: usize = 200;

/// Routes polled by kubelet and Prometheus every few seconds: logged like any
/// request, but their spans are not exported (they would bury the traces).
const UNTRACED_ROUTES: [&str; 3] = [
    hermes_interface::probes::LIVENESS_PATH,
    hermes_interface::probes::READINESS_PATH,
    hermes_interface::probes::METRICS_PATH,
];

/// The target of the request spans of [`UNTRACED_ROUTES`], which the export
/// filter drops ([`crate::logging`]).
pub const UNTRACED_TARGET: &str = "hermes_runtime::untraced";

/// The request span (one callsite per target: a span's target is static).
macro_rules! request_span {
    ($target:expr, $id:expr, $method:expr, $route:expr) => {
        tracing::info_span!(
            target: $target,
            "request",
            otel.name = %format_args!("{} {}", $method, $route),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %$id,
            method = %$method,
            route = %$route,
            status = tracing::field::Empty,
            api_key = tracing::field::Empty
        )
    };
}

/// The request's id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: assigns the id, runs the request in a span carrying it, logs one
/// line per request and sets the response header.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| is_acceptable(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));

    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(hermes_interface::metrics::UNMATCHED_ROUTE, |p| p.as_str())
        .to_owned();
    let method = req.method().clone();
    // `api_key` (the key's name) is recorded by the auth layer.
    let span = if UNTRACED_ROUTES.contains(&route.as_str()) {
        request_span!(UNTRACED_TARGET, id, method, route)
    } else {
        request_span!(module_path!(), id, method, route)
    };
    crate::telemetry::propagation::adopt(&span, req.headers());
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    // Signed: OpenTelemetry has no unsigned attributes (a u16 would become a string).
    span.record("status", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// Printable ASCII without spaces, bounded: safe to echo and to log.
fn is_acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_echoed() {
        assert!(is_acceptable("abc-123_x.y"));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable("has space"));
        assert!(!is_acceptable(&"x".repeat(201)));
        assert!(!is_acceptable("tab\there"));
    }
}
