//! W3C trace context: a client's `traceparent` makes the request span its child
//! ([`adopt`]), outbound calls carry ours ([`inject`], installed into
//! `hermes_upstreams::trace_context`), a delivery replayed later links to the
//! request that queued it ([`link`]), and the request span is marked with its
//! trace id ([`TraceId`]) so every log line under it names the trace
//! ([`crate::logging`]). All of it does nothing while tracing is off.

use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;

/// The trace id (32 hex digits) of a span and its descendants, kept in the
/// span's extensions for the log formatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceId(pub String);

/// Makes `span` (a request's) the child of the client's `traceparent` when it
/// sent a valid one, then marks it with its trace id.
pub fn adopt(span: &tracing::Span, headers: &HeaderMap) {
    if !super::enabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only without the OpenTelemetry layer, which `enabled` rules out.
        let _ = span.set_parent(parent);
    }
    // A span the export filter dropped (a probe's) has no trace.
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        mark(span, TraceId(span_context.trace_id().to_string()));
    }
}

/// Writes the current span's `traceparent` (and `tracestate`) into `headers`.
pub fn inject(headers: &mut HeaderMap) {
    if !super::enabled() {
        return;
    }
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// Adds a link from `span` to the span `traceparent` names (a malformed one is
/// ignored: the link is a courtesy, the delivery matters).
pub fn link(span: &tracing::Span, traceparent: &str) {
    if !super::enabled() {
        return;
    }
    let Ok(value) = http::HeaderValue::from_str(traceparent) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", value);
    let linked = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
    let span_context = linked.span().span_context().clone();
    if span_context.is_valid() {
        span.add_link(span_context);
    }
}

/// Stores `id` in the extensions of `span` (no-op for a disabled span).
fn mark(span: &tracing::Span, id: TraceId) {
    let Some(span_id) = span.id() else {
        return;
    };
    tracing::dispatcher::get_default(|dispatch| {
        if let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>()
            && let Some(data) = registry.span(&span_id)
        {
            data.extensions_mut().insert(id.clone());
        }
    });
}
