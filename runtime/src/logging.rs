//! Structured logs on stdout: JSON lines or text, filtered by `RUST_LOG`
//! (default `info`). Request spans carry the request id. The native libraries'
//! own chatter (whisper.cpp/ggml model internals, ONNX Runtime) shows only from
//! `debug` on: at `info` each model gets one line of ours instead. Every line
//! passes `protection::redact` (control characters escaped, personal data redacted).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Targets of the native libraries' forwarded logs: whisper.cpp and ggml print ~30
/// lines of model internals per load at their INFO level.
const NATIVE_TARGETS: &[&str] = &["whisper_rs", "ort"];

/// `RUST_LOG` (default `info`), with the native libraries held at `warn` unless the
/// filter asks for `debug`/`trace` or names them.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let verbose = spec.contains("debug") || spec.contains("trace");
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

pub fn init(format: LogFormat) {
    let filter = filter(
        std::env::var(hermes_interface::env::RUST_LOG)
            .ok()
            .as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(crate::protection::redact::CleanStdout);
    // A second init (tests embedding the server) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
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
}
