//! Metric names and labels the runtime exports and the operator's analysis queries.

/// Counter `{route, method, status}`: every HTTP response.
pub const HTTP_REQUESTS_TOTAL: &str = "hermes_http_requests_total";
/// Histogram `{route, method}` of request durations, in seconds.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "hermes_http_request_duration_seconds";
/// Gauge `{model}`: 1 when the model is loaded and warmed up.
pub const MODEL_READY: &str = "hermes_model_ready";
/// Gauge `{model}`: seconds the model took to load and warm up.
pub const MODEL_LOAD_SECONDS: &str = "hermes_model_load_seconds";
/// Gauge `{model}`: process RSS growth measured across the model's load.
pub const MODEL_RESIDENT_BYTES: &str = "hermes_model_resident_bytes";
/// Gauge `{version}` = 1.
pub const BUILD_INFO: &str = "hermes_build_info";

/// Gauge `{model}`: embedding requests waiting in the model's batching queue.
pub const EMBEDDING_QUEUE_SIZE: &str = "hermes_embedding_queue_size";
/// Histogram `{model}`: texts per embedding forward pass.
pub const EMBEDDING_BATCH_SIZE: &str = "hermes_embedding_batch_size";
/// Histogram `{model}`: seconds each embedding request waited in the queue before its pass.
pub const EMBEDDING_QUEUE_SECONDS: &str = "hermes_embedding_queue_seconds";
/// Histogram `{model}`: seconds of each embedding forward pass.
pub const EMBEDDING_INFERENCE_SECONDS: &str = "hermes_embedding_inference_seconds";
/// Counter: embedding requests answered from the cache (model + exact text).
pub const EMBEDDING_CACHE_HITS_TOTAL: &str = "hermes_embedding_cache_hits_total";
/// Counter: embedding requests the cache could not answer (the cache is off: none counted).
pub const EMBEDDING_CACHE_MISSES_TOTAL: &str = "hermes_embedding_cache_misses_total";
/// Counter: cache entries evicted to stay within `HERMES_EMBEDDING_CACHE_BYTES`.
pub const EMBEDDING_CACHE_EVICTIONS_TOTAL: &str = "hermes_embedding_cache_evictions_total";
/// Gauge: bytes the embedding cache holds now (keys, vectors, bookkeeping).
pub const EMBEDDING_CACHE_BYTES: &str = "hermes_embedding_cache_bytes";

/// Counter `{feedback_type, outcome}`: feedback accepted on `/feedback`.
pub const FEEDBACK_TOTAL: &str = "hermes_feedback_total";
/// Counter `{key, outcome}`: authentication outcomes by API key name (`-` when none matched).
pub const AUTH_REQUESTS_TOTAL: &str = "hermes_auth_requests_total";
/// Counter `{policy, client}`: requests refused with 429 (client: key name or `address`).
pub const RATE_LIMITED_TOTAL: &str = "hermes_rate_limited_total";

pub const LABEL_ROUTE: &str = "route";
pub const LABEL_METHOD: &str = "method";
pub const LABEL_STATUS: &str = "status";
pub const LABEL_MODEL: &str = "model";
/// Route label shared by every path that matched no route (bounded cardinality).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Histogram buckets (seconds) fine enough to resolve latency SLOs from 5 ms to 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 7.5,
    10.0, 15.0, 30.0,
];

/// Histogram buckets (seconds) for embedding queue and inference times: a pass of one
/// short sentence takes about a millisecond.
pub const EMBEDDING_SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Histogram buckets for texts per embedding forward pass.
pub const EMBEDDING_BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Pod label carrying the revision hash; the operator selects canary pods by it and
/// Prometheus relabels it into a `revision` label on scraped series.
pub const REVISION_LABEL: &str = "hermes.logos.dev/revision";

/// Gauge `{dependency}`: records in the durable outbox not acknowledged yet.
pub const OUTBOX_DEPTH: &str = "hermes_outbox_depth_records";
/// Gauge `{dependency}`: bytes on disk of those records.
pub const OUTBOX_BYTES: &str = "hermes_outbox_bytes";
/// Counter `{dependency}`: outbox records delivered by the replay.
pub const OUTBOX_REPLAYED_TOTAL: &str = "hermes_outbox_replayed_total";
/// Counter `{dependency}`: records refused because the outbox was full (the request got a 503).
pub const OUTBOX_REJECTED_TOTAL: &str = "hermes_outbox_rejected_total";
/// Counter `{dependency, reason}`: failed deliveries (direct writes and replays).
pub const DELIVERY_FAILURES_TOTAL: &str = "hermes_delivery_failures_total";
/// Gauge `{dependency}`: circuit breaker state, 0 closed, 1 open, 2 half-open.
pub const CIRCUIT_STATE: &str = "hermes_circuit_state";
/// Counter `{dependency, outcome}`: retries asked for, `granted` or `denied` by the retry budget.
pub const RETRIES_TOTAL: &str = "hermes_retries_total";
