//! OpenTelemetry tracing, on only when an OTLP endpoint is configured
//! ([`crate::config::TracingConfig`]): the `tracing` spans of the request, the
//! model inferences (engine) and the outbound calls (upstreams) are exported over
//! OTLP/HTTP protobuf by a batch processor on its own thread. Off, nothing is
//! built and no header is read or written.
//!
//! [`start`] builds the exporter (before the async runtime: the batch processor
//! and its blocking HTTP client need none); [`logging::init`](crate::logging::init)
//! adds its layer; [`propagation`] adopts a client's `traceparent` and writes ours
//! on outbound calls; [`Tracing::shutdown`] flushes what is left at exit.

pub mod propagation;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::config::TracingConfig;

/// Whether [`start`] turned tracing on (read by [`propagation`] to do nothing when off).
static ENABLED: AtomicBool = AtomicBool::new(false);

pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot start the OpenTelemetry exporter to {endpoint}: {source}")]
pub struct TelemetryError {
    endpoint: String,
    source: opentelemetry_otlp::ExporterBuildError,
}

/// The running exporter; [`Tracing::shutdown`] flushes it.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    endpoint: String,
}

impl Tracing {
    /// The tracer the logging layer records spans with.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer(env!("CARGO_PKG_NAME"))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Exports the spans still buffered and stops the exporter (blocking, bounded
    /// by the exporter's timeout). Call outside the async runtime.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!(
                "hermes-runtime: flushing the spans to {} failed: {e}",
                self.endpoint
            );
        }
    }
}

/// Builds the OTLP/HTTP exporter when `config` names an endpoint; `None` when off.
pub fn start(config: &TracingConfig) -> Result<Option<Tracing>, TelemetryError> {
    let Some(endpoint) = &config.endpoint else {
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .build()
        .map_err(|source| TelemetryError {
            endpoint: endpoint.to_string(),
            source,
        })?;
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    hermes_upstreams::trace_context::install(hermes_upstreams::trace_context::Propagator {
        inject: propagation::inject,
        link: propagation::link,
    });
    ENABLED.store(true, Ordering::Release);
    Ok(Some(Tracing {
        provider,
        endpoint: endpoint.to_string(),
    }))
}
