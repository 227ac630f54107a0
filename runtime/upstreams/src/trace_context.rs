//! Outbound tracing: each call to a dependency (Sophia, Milvus, the LLM upstream)
//! runs in a client span ([`client_span`]), and calls carry the W3C trace
//! headers of that span ([`headers`]) once the binary installed a propagator
//! ([`install`], done when OpenTelemetry is on). Work kept for later (an outbox
//! record) keeps its request's `traceparent` ([`traceparent`]), and the span that
//! finally delivers it links back to that trace ([`link`]). This crate knows no
//! OpenTelemetry: the binary owns it, the spans here are plain `tracing` spans.

use std::sync::OnceLock;

use reqwest::header::HeaderMap;

/// What the binary's OpenTelemetry does for this crate.
#[derive(Debug, Clone, Copy)]
pub struct Propagator {
    /// Writes the trace headers (`traceparent`, `tracestate`) of the current span.
    pub inject: fn(&mut HeaderMap),
    /// Links a span to the span a `traceparent` names (ignored when malformed).
    pub link: fn(&tracing::Span, &str),
}

static PROPAGATOR: OnceLock<Propagator> = OnceLock::new();

/// Installs the propagator once, at start; a second call is ignored.
pub fn install(propagator: Propagator) {
    let _ = PROPAGATOR.set(propagator);
}

/// The trace headers of the current span: empty unless a propagator is installed.
pub fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(propagator) = PROPAGATOR.get() {
        (propagator.inject)(&mut headers);
    }
    headers
}

/// The current span's `traceparent`, to keep with work done later.
pub fn traceparent() -> Option<String> {
    headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Links `span` to the span `traceparent` names: the request whose work it does.
pub fn link(span: &tracing::Span, traceparent: &str) {
    if let Some(propagator) = PROPAGATOR.get() {
        (propagator.link)(span, traceparent);
    }
}

/// The span of one call to `dependency` (`operation`: `POST /ingest/media`,
/// `upsert`, ...): named `<dependency> <operation>` in OpenTelemetry, of kind
/// client; `url` without credentials or query. Record the answer with
/// [`record_status`] or [`record_error`].
pub fn client_span(dependency: &'static str, operation: &str, url: &str) -> tracing::Span {
    tracing::info_span!(
        target: hermes_engine::TRACE_TARGET,
        "outbound",
        otel.name = %format_args!("{dependency} {operation}"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        dependency,
        url.full = %public_url(url),
        http.response.status_code = tracing::field::Empty,
        error = tracing::field::Empty,
    )
}

/// The dependency answered `status` (a 5xx marks the span as failed).
pub fn record_status(span: &tracing::Span, status: u16) {
    // Signed: OpenTelemetry has no unsigned attributes (a u16 would become a string).
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// The call failed without an answer (or the answer could not be used).
pub fn record_error(span: &tracing::Span, error: &dyn std::fmt::Display) {
    span.record("otel.status_code", "error");
    span.record("error", tracing::field::display(error));
}

/// `url` without user, password, query or fragment: safe to export.
fn public_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.into()
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_urls_lose_credentials_and_query() {
        assert_eq!(
            public_url("http://user:pw@sophia:8000/ingest/media?key=secret#x"),
            "http://sophia:8000/ingest/media"
        );
        assert_eq!(public_url("not a url"), "");
    }

    #[test]
    fn without_a_propagator_no_header_is_added() {
        assert!(headers().is_empty());
    }
}
