//! Structured logs on stdout: JSON lines or text, filtered by `RUST_LOG`
//! (default `info`). Request spans carry the request id. The native libraries'
//! own chatter (whisper.cpp/ggml model internals, ONNX Runtime) shows only from
//! `debug` on: at `info` each model gets one line of ours instead. Every line
//! passes `protection::redact` (control characters escaped, personal data redacted).
//! With OpenTelemetry on ([`crate::telemetry`]), spans are also exported (their
//! own filter: `info` and finer, whatever `RUST_LOG` says) and every line written
//! under a request names its trace (`trace_id`).

use opentelemetry_sdk::trace::SdkTracer;
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::telemetry::propagation::TraceId;

/// Targets of the native libraries' forwarded logs: whisper.cpp and ggml print ~30
/// lines of model internals per load at their INFO level.
const NATIVE_TARGETS: &[&str] = &["whisper_rs", "ort"];

/// `RUST_LOG` (default `info`), with the native libraries held at `warn` unless the
/// filter asks for `debug`/`trace` or names them, and the trace-only spans
/// ([`hermes_engine::TRACE_TARGET`]) off unless named.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let verbose = spec.contains("debug") || spec.contains("trace");
    // The spans made for the OpenTelemetry export only stay out of the lines.
    if !spec.contains(hermes_engine::TRACE_TARGET)
        && let Ok(directive) = format!("{}=off", hermes_engine::TRACE_TARGET).parse()
    {
        filter = filter.add_directive(directive);
    }
    for target in NATIVE_TARGETS {
        if verbose || spec.contains(target) {
            continue;
        }
        if let Ok(directive) = format!("{target}=warn").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Spans and events the OpenTelemetry layer records: `info` and finer, the
/// native libraries from `warn`, no probe or scrape requests.
fn export_filter() -> Targets {
    NATIVE_TARGETS
        .iter()
        .fold(
            Targets::new().with_default(LevelFilter::INFO),
            |targets, target| targets.with_target(*target, LevelFilter::WARN),
        )
        .with_target(crate::request_id::UNTRACED_TARGET, LevelFilter::OFF)
}

/// Installs the logger and, with `tracer`, the OpenTelemetry layer.
pub fn init(format: LogFormat, tracer: Option<SdkTracer>) {
    let filter = filter(
        std::env::var(hermes_interface::env::RUST_LOG)
            .ok()
            .as_deref(),
    );
    let export = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(export_filter())
    });
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(crate::protection::redact::CleanStdout);
    let registry = tracing_subscriber::registry().with(export);
    // A second init (tests embedding the server) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                lines
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .map_event_format(|inner| WithTraceId { inner, json: true })
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                lines
                    .map_event_format(|inner| WithTraceId { inner, json: false })
                    .with_filter(filter),
            )
            .try_init(),
    };
}

/// A line format plus the trace id of the request the event happened under
/// (`"trace_id":"..."` first in JSON, ` trace_id=...` last in text); lines
/// outside a traced request are unchanged.
struct WithTraceId<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let trace_id = ctx.event_scope().and_then(|mut scope| {
            scope.find_map(|span| span.extensions().get::<TraceId>().map(|t| t.0.clone()))
        });
        let Some(trace_id) = trace_id else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_trace_id(&line, &trace_id, self.json))
    }
}

/// `line` (one formatted record) naming `trace_id`.
fn with_trace_id(line: &str, trace_id: &str, json: bool) -> String {
    let body = line.strip_suffix('\n').unwrap_or(line);
    match body.strip_prefix('{') {
        Some(rest) if json => format!("{{\"trace_id\":\"{trace_id}\",{rest}\n"),
        _ => format!("{body} trace_id={trace_id}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_libraries_stay_at_warn_unless_asked_for() {
        for spec in [None, Some("info"), Some("hermes_runtime=info,warn")] {
            let f = filter(spec).to_string();
            assert!(
                f.contains("whisper_rs=warn") && f.contains("ort=warn"),
                "{spec:?}: {f}"
            );
        }
        assert!(
            !filter(Some("debug"))
                .to_string()
                .contains("whisper_rs=warn")
        );
        let named = filter(Some("info,whisper_rs=info")).to_string();
        assert!(!named.contains("whisper_rs=warn"), "{named}");
    }

    #[test]
    fn trace_only_spans_stay_out_of_the_lines_unless_named() {
        for spec in [None, Some("trace")] {
            assert!(filter(spec).to_string().contains("hermes::trace=off"));
        }
        let named = filter(Some("info,hermes::trace=info")).to_string();
        assert!(!named.contains("hermes::trace=off"), "{named}");
    }

    #[test]
    fn the_trace_id_joins_json_and_text_lines() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            with_trace_id("{\"level\":\"INFO\"}\n", id, true),
            format!("{{\"trace_id\":\"{id}\",\"level\":\"INFO\"}}\n")
        );
        let json: serde_json::Value =
            serde_json::from_str(&with_trace_id("{\"a\":1}\n", id, true)).unwrap();
        assert_eq!(json["trace_id"], id);
        assert_eq!(
            with_trace_id("2026-01-01T00:00:00Z  INFO x: done\n", id, false),
            format!("2026-01-01T00:00:00Z  INFO x: done trace_id={id}\n")
        );
    }
}
