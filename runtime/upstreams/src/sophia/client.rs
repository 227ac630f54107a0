//! The Sophia client over the shared pooled HTTP client, behind Sophia's
//! circuit breaker. Requests carry `Authorization: Bearer <token>`.

use std::time::Duration;

use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::config::SophiaConfig;
use crate::resilience::breaker::{BreakerConfig, Rejected, SharedBreaker};
use crate::resilience::metrics::DeliveryMetrics;
use crate::secret::Secret;
use crate::trace_context;

pub const DEPENDENCY: &str = "sophia";

#[derive(Debug, thiserror::Error)]
pub enum SophiaError {
    #[error("no Sophia token is configured (set SOPHIA_API_KEY or SOPHIA_API_TOKEN)")]
    NoToken,
    #[error("Sophia's circuit is open after repeated failures ({0})")]
    CircuitOpen(Rejected),
    #[error("Sophia is unreachable at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("Sophia did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Sophia answered {status}")]
    Status { status: u16, body: Value },
    #[error("Sophia's answer is not JSON: {0}")]
    BadBody(String),
}

impl SophiaError {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            SophiaError::NoToken => "no_token",
            SophiaError::CircuitOpen(_) => "circuit_open",
            SophiaError::Unreachable { .. } => "unreachable",
            SophiaError::Timeout(_) => "timeout",
            SophiaError::Status { status, .. } if *status >= 500 => "status_5xx",
            SophiaError::Status { .. } => "status_4xx",
            SophiaError::BadBody(_) => "bad_body",
        }
    }
}

/// A file to forward to Sophia's `/ingest/media`.
#[derive(Debug, Clone)]
pub struct MediaUpload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
    /// `image`, `audio` or `video`.
    pub media_type: &'static str,
    pub question: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SophiaClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    timeout: Duration,
    breaker: SharedBreaker,
}

impl SophiaClient {
    pub fn new(
        http: reqwest::Client,
        config: &SophiaConfig,
        timeout: Duration,
        metrics: &DeliveryMetrics,
    ) -> Self {
        let gauge = metrics.clone();
        Self {
            http,
            base: config.url.clone(),
            token: config.token.clone(),
            timeout,
            breaker: SharedBreaker::new(DEPENDENCY, BreakerConfig::default(), move |s| {
                gauge.circuit(DEPENDENCY, s)
            }),
        }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// Forwards a media file (not retried: Sophia's ingest is not idempotent).
    pub async fn ingest_media(&self, upload: MediaUpload) -> Result<Value, SophiaError> {
        let mut file = reqwest::multipart::Part::stream(upload.bytes).file_name(upload.file_name);
        file = file
            .mime_str(&upload.content_type)
            .map_err(|e| SophiaError::BadBody(format!("invalid content type: {e}")))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("media_type", upload.media_type)
            .text("source", "ingestion")
            .text("derivation", "observed");
        if let Some(question) = upload.question {
            form = form.text("question", question);
        }
        self.send("/ingest/media", |r| r.multipart(form)).await
    }

    /// Posts an LLM proposal; the key lets Sophia drop a redelivered copy.
    pub async fn post_proposal(
        &self,
        proposal: &Value,
        idempotency_key: &str,
    ) -> Result<Value, SophiaError> {
        self.send("/ingest/hermes_proposal", |r| {
            r.json(proposal).header("Idempotency-Key", idempotency_key)
        })
        .await
    }

    /// One POST in its client span ([`trace_context::client_span`]), carrying
    /// the span's trace headers.
    async fn send(
        &self,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, SophiaError> {
        let url = self.url(path);
        let span = trace_context::client_span(DEPENDENCY, &format!("POST {path}"), &url);
        let result = self.send_in_span(url, build).instrument(span.clone()).await;
        // An answer's status is recorded where it arrives; this is for the rest.
        if let Err(e) = &result
            && !matches!(e, SophiaError::Status { .. })
        {
            trace_context::record_error(&span, e);
        }
        result
    }

    async fn send_in_span(
        &self,
        url: String,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, SophiaError> {
        let token = self.token.as_ref().ok_or(SophiaError::NoToken)?;
        self.breaker
            .try_acquire()
            .map_err(SophiaError::CircuitOpen)?;
        let request = build(self.http.post(&url))
            .headers(trace_context::headers())
            .bearer_auth(token.expose())
            .timeout(self.timeout);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.breaker.on_failure();
                return Err(if e.is_timeout() {
                    SophiaError::Timeout(self.timeout)
                } else {
                    SophiaError::Unreachable {
                        url,
                        detail: error_chain(&e),
                    }
                });
            }
        };
        let status = response.status().as_u16();
        trace_context::record_status(&tracing::Span::current(), status);
        let body = response.bytes().await;
        // 5xx and broken bodies count against Sophia; 4xx are the caller's problem.
        if status >= 500 || body.is_err() {
            self.breaker.on_failure();
        } else {
            self.breaker.on_success();
        }
        let body = body.map_err(|e| SophiaError::Unreachable {
            url: url.clone(),
            detail: error_chain(&e),
        })?;
        let json: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(SophiaError::Status { status, body: json })
        }
    }
}

/// The error and its sources in one line ("connection refused" hides in a source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
