//! Prometheus metrics (names from `hermes_interface::metrics`) and the middleware
//! that counts and times every response by route template, never by raw path. The route
//! label is the canonical template (`/v1/embed_text` counts as `/embed_text`) and
//! `api_version` says which path served it (`hermes_interface::metrics::route_labels`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use hermes_interface::metrics as names;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use hermes_engine::models::registry::{ModelReport, ModelState};

use crate::embedding_metrics::EmbeddingMetrics;
use crate::llm_metrics::LlmMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    api_version: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteMethod {
    route: String,
    api_version: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabel {
    model: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedbackLabels {
    feedback_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    key: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitedLabels {
    policy: &'static str,
    client: String,
}

type HistogramFamily = Family<RouteMethod, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(names::LATENCY_BUCKETS.iter().copied())
}

/// Every series the runtime exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily,
    http_in_flight: Family<RouteLabel, Gauge>,
    model_ready: Family<ModelLabel, Gauge>,
    model_load_seconds: Family<ModelLabel, Gauge<f64, AtomicU64>>,
    model_resident_bytes: Family<ModelLabel, Gauge>,
    model_in_flight: Family<ModelLabel, Gauge>,
    model_queue_depth: Family<ModelLabel, Gauge>,
    feedback: Family<FeedbackLabels, Counter>,
    auth: Family<AuthLabels, Counter>,
    rate_limited: Family<RateLimitedLabels, Counter>,
    /// Outbox, replay and circuit series (`hermes_upstreams::resilience::metrics`).
    pub delivery: hermes_upstreams::resilience::metrics::DeliveryMetrics,
    /// Batching queue and cache series of the embedding models; the model registry
    /// reports to it ([`hermes_engine::models::registry::Registry::with_batch_observer`]).
    pub embedding: Arc<EmbeddingMetrics>,
    /// Time to first token and output rate of LLM completions.
    pub llm: Arc<LlmMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// prometheus-client appends `_total` to counters itself.
fn counter_name(full: &'static str) -> &'static str {
    full.strip_suffix("_total").unwrap_or(full)
}

impl Metrics {
    pub fn new(version: &'static str) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            counter_name(names::HTTP_REQUESTS_TOTAL),
            "HTTP responses by route template, method and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            names::HTTP_REQUEST_DURATION_SECONDS,
            "HTTP request durations in seconds by route template and method",
            http_duration.clone(),
        );
        let http_in_flight = Family::<RouteLabel, Gauge>::default();
        registry.register(
            names::HTTP_IN_FLIGHT_REQUESTS,
            "HTTP requests being served now (until their response starts) by route template",
            http_in_flight.clone(),
        );
        let model_ready = Family::<ModelLabel, Gauge>::default();
        registry.register(
            names::MODEL_READY,
            "1 when the model is loaded and warmed up",
            model_ready.clone(),
        );
        let model_load_seconds = Family::<ModelLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            names::MODEL_LOAD_SECONDS,
            "Seconds the model took to load and warm up",
            model_load_seconds.clone(),
        );
        let model_resident_bytes = Family::<ModelLabel, Gauge>::default();
        registry.register(
            names::MODEL_RESIDENT_BYTES,
            "Process RSS growth across the model's load and warm-up",
            model_resident_bytes.clone(),
        );
        let model_in_flight = Family::<ModelLabel, Gauge>::default();
        registry.register(
            names::MODEL_IN_FLIGHT_REQUESTS,
            "Requests of the model admitted now, running or waiting",
            model_in_flight.clone(),
        );
        let model_queue_depth = Family::<ModelLabel, Gauge>::default();
        registry.register(
            names::MODEL_QUEUE_DEPTH,
            "Requests of the model waiting for their turn",
            model_queue_depth.clone(),
        );
        let build_info = Family::<VersionLabel, Gauge>::default();
        registry.register(
            names::BUILD_INFO,
            "Build of this runtime (value 1)",
            build_info.clone(),
        );
        build_info.get_or_create(&VersionLabel { version }).set(1);
        let feedback = Family::<FeedbackLabels, Counter>::default();
        registry.register(
            counter_name(names::FEEDBACK_TOTAL),
            "Feedback accepted on /feedback by type and outcome",
            feedback.clone(),
        );
        let auth = Family::<AuthLabels, Counter>::default();
        registry.register(
            counter_name(names::AUTH_REQUESTS_TOTAL),
            "Authentication outcomes by API key name",
            auth.clone(),
        );
        let rate_limited = Family::<RateLimitedLabels, Counter>::default();
        registry.register(
            counter_name(names::RATE_LIMITED_TOTAL),
            "Requests refused with 429 by policy and client",
            rate_limited.clone(),
        );
        let delivery = hermes_upstreams::resilience::metrics::DeliveryMetrics::default();
        delivery.register(&mut registry);
        let embedding = Arc::new(EmbeddingMetrics::register(&mut registry));
        let llm = Arc::new(LlmMetrics::register(&mut registry));
        Self {
            registry,
            delivery,
            embedding,
            llm,
            http_requests,
            http_duration,
            http_in_flight,
            model_ready,
            model_load_seconds,
            model_resident_bytes,
            model_in_flight,
            model_queue_depth,
            feedback,
            auth,
            rate_limited,
        }
    }

    /// One authentication outcome (`accepted`, `missing`, `invalid`) for a key name.
    pub fn count_auth(&self, key: &str, outcome: &'static str) {
        self.auth
            .get_or_create(&AuthLabels {
                key: key.to_owned(),
                outcome,
            })
            .inc();
    }

    /// One request refused by a rate limit. Client addresses share one label.
    pub fn count_rate_limited(&self, policy: &'static str, client: &str) {
        self.rate_limited
            .get_or_create(&RateLimitedLabels {
                policy,
                client: client.to_owned(),
            })
            .inc();
    }

    /// One response to a request matched by route `template` (the router's, e.g.
    /// `/v1/embed_text`; labelled by its canonical route and API version).
    pub fn observe_request(&self, template: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        let (route, api_version) = names::route_labels(template);
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_owned(),
                api_version,
                method,
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteMethod {
                route: route.to_owned(),
                api_version,
                method,
            })
            .observe(seconds);
    }

    /// One more request of route `template` in flight until the returned guard drops
    /// (also when the request is cancelled).
    pub fn in_flight(&self, template: &str) -> InFlight {
        let (route, _) = names::route_labels(template);
        let gauge = self
            .http_in_flight
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .clone();
        gauge.inc();
        InFlight(gauge)
    }

    pub fn count_feedback(&self, feedback_type: &'static str, outcome: &'static str) {
        self.feedback
            .get_or_create(&FeedbackLabels {
                feedback_type,
                outcome,
            })
            .inc();
    }

    /// Copies the models' current state into their gauges (done at each scrape).
    pub fn observe_models(&self, reports: &[ModelReport]) {
        for report in reports {
            let label = ModelLabel { model: report.id };
            self.model_ready
                .get_or_create(&label)
                .set(i64::from(report.state == ModelState::Ready));
            if let Some(seconds) = report.load_seconds {
                self.model_load_seconds.get_or_create(&label).set(seconds);
            }
            let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            if let Some(n) = report.in_flight {
                self.model_in_flight.get_or_create(&label).set(gauge(n));
            }
            if let Some(n) = report.waiting {
                self.model_queue_depth.get_or_create(&label).set(gauge(n));
            }
            if let Some(bytes) = report.resident_bytes {
                self.model_resident_bytes
                    .get_or_create(&label)
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
        }
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// A request counted in `hermes_http_in_flight_requests`; uncounted when dropped.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Known methods keep their name; anything else shares one label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: counts and times each response under its matched route template.
pub async fn middleware(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(names::UNMATCHED_ROUTE, |p| p.as_str())
        .to_owned();
    let method = req.method().clone();
    let started = Instant::now();
    let in_flight = metrics.in_flight(&route);
    let response = next.run(req).await;
    drop(in_flight);
    metrics.observe_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_interface::Task;

    #[test]
    fn exposition_has_every_series_with_bounded_labels() {
        let metrics = Metrics::new("9.9.9");
        metrics.observe_request("/embed_text", &Method::POST, 200, 0.012);
        metrics.observe_request("/v1/embed_text", &Method::POST, 200, 0.012);
        metrics.observe_request(
            "unmatched",
            &Method::from_bytes(b"BREW").unwrap(),
            404,
            0.001,
        );
        metrics.observe_models(&[ModelReport {
            id: "all-minilm-l6-v2",
            task: Task::Embedding,
            state: ModelState::Ready,
            load_seconds: Some(0.5),
            resident_bytes: Some(90_000_000),
            load_count: 1,
            error: None,
            in_flight: Some(3),
            waiting: Some(1),
        }]);
        metrics.count_feedback("plan", "accepted");
        let one = metrics.in_flight("/v1/llm");
        let two = metrics.in_flight("/llm");
        drop(metrics.in_flight("/stt"));
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(r#"hermes_http_in_flight_requests{route="/llm"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"hermes_http_in_flight_requests{route="/stt"} 0"#));
        drop((one, two));
        assert!(
            metrics
                .encode()
                .unwrap()
                .contains(r#"hermes_http_in_flight_requests{route="/llm"} 0"#)
        );
        for expected in [
            r#"hermes_http_requests_total{route="/embed_text",api_version="unversioned",method="POST",status="200"} 1"#,
            r#"hermes_http_requests_total{route="/embed_text",api_version="v1",method="POST",status="200"} 1"#,
            r#"hermes_http_requests_total{route="unmatched",api_version="unversioned",method="OTHER",status="404"} 1"#,
            r#"hermes_http_request_duration_seconds_bucket{route="/embed_text",api_version="v1",method="POST",le="0.025"} 1"#,
            r#"hermes_model_ready{model="all-minilm-l6-v2"} 1"#,
            r#"hermes_model_load_seconds{model="all-minilm-l6-v2"} 0.5"#,
            r#"hermes_model_resident_bytes{model="all-minilm-l6-v2"} 90000000"#,
            r#"hermes_build_info{version="9.9.9"} 1"#,
            r#"hermes_model_in_flight_requests{model="all-minilm-l6-v2"} 3"#,
            r#"hermes_model_queue_depth{model="all-minilm-l6-v2"} 1"#,
            r#"hermes_feedback_total{feedback_type="plan",outcome="accepted"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
