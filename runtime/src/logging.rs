//! Structured logs on stdout: JSON lines or text, filtered by `RUST_LOG`
//! (default `info`). Request spans carry the request id. The native libraries'
//! own chatter (whisper.cpp/ggml model internals, ONNX Runtime) shows only from
//! `debug` on: at `info` each model gets one line of ours instead. Every line
//! passes `protection::redact` (control characters escaped, personal data redacted).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// `info` for ours; native libraries' info lines (whisper.cpp prints ~30 lines of
/// model internals per load) only at `debug`.
pub const DEFAULT_FILTER: &str = "info,whisper_rs=warn,ort=warn";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
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
