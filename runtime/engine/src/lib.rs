//! The Hermes inference engine: models loaded once, run behind bounded workers, and
//! the capability services that give requests their meaning. No HTTP, no env, no
//! network: the binary crate (`hermes-runtime`) parses requests and configuration and
//! calls in here; `hermes-upstreams` reaches the network.
//!
//! Data flows one way, each module importing only those listed before it:
//! [`rss`] and [`wav`] and [`audio`] (speech in and out) -> [`models`] (the model
//! types, [`models::worker`] and [`models::registry`]) -> [`llm`] (the request and
//! answer types of the LLM gateway, its `echo` and `local` providers) and
//! [`services`] (embedding, speech-to-text, text-to-speech).

/// The `tracing` target of the spans made for tracing only (model inferences,
/// outbound calls): the OpenTelemetry export records them, the log lines do not
/// (the binary's log filter turns this target off, so a line inside one still
/// shows the request span, and with tracing off they cost nothing).
pub const TRACE_TARGET: &str = "hermes::trace";

pub mod audio;
pub mod config;
pub mod llm;
pub mod models;
pub mod rss;
pub mod services;
pub mod wav;
