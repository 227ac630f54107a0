//! Metric names and labels the runtime exports and the operator's analysis queries.

/// Counter `{route, api_version, method, status}`: every HTTP response. `route` is the
/// canonical route template (`route_labels`): `/v1/embed_text` counts as
/// `route="/embed_text",api_version="v1"`, so one SLO covers every path of a capability.
pub const HTTP_REQUESTS_TOTAL: &str = "hermes_http_requests_total";
/// Histogram `{route, api_version, method}` of request durations, in seconds.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "hermes_http_request_duration_seconds";
/// Gauge `{route}`: HTTP requests being served now, until their response starts (a
/// stream's body is not counted), by canonical route. An autoscaler reads its sum per pod
/// (`spec.autoscaling.targetInFlightPerPod`, through a custom metrics adapter).
pub const HTTP_IN_FLIGHT_REQUESTS: &str = "hermes_http_in_flight_requests";
/// Gauge `{model}`: 1 when the model is loaded and warmed up.
pub const MODEL_READY: &str = "hermes_model_ready";
/// Gauge `{model}`: seconds the model took to load and warm up.
pub const MODEL_LOAD_SECONDS: &str = "hermes_model_load_seconds";
/// Gauge `{model}`: process RSS growth measured across the model's load.
pub const MODEL_RESIDENT_BYTES: &str = "hermes_model_resident_bytes";
/// Gauge `{model}`: requests of the model admitted now, running or waiting (what an
/// autoscaler on per-model load reads).
pub const MODEL_IN_FLIGHT_REQUESTS: &str = "hermes_model_in_flight_requests";
/// Gauge `{model}`: requests of the model waiting for their turn (its queue depth; for an
/// embedding model, its batching queue).
pub const MODEL_QUEUE_DEPTH: &str = "hermes_model_queue_depth";
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

/// Histogram `{route, provider}`: seconds from a streamed LLM request's arrival to its first
/// token (`/llm` and `/v1/chat/completions` with `stream: true`); what a chat user waits
/// before text appears. Non-streamed requests have no first token to observe.
pub const LLM_TIME_TO_FIRST_TOKEN_SECONDS: &str = "hermes_llm_time_to_first_token_seconds";
/// Histogram `{route, provider, streamed}`: output tokens per second of an LLM completion.
/// Streamed (`streamed="true"`): the tokens after the first over the time from the first
/// token to the end (the decoding speed); not streamed: all output tokens over the whole
/// generation, prompt processing included.
pub const LLM_OUTPUT_TOKENS_PER_SECOND: &str = "hermes_llm_output_tokens_per_second";
/// Canonical route of `/llm` and `/v1/llm`.
pub const ROUTE_LLM: &str = "/llm";
/// Route of the OpenAI-compatible chat endpoint.
pub const ROUTE_CHAT_COMPLETIONS: &str = "/v1/chat/completions";
/// The routes that stream LLM answers, the only ones with a time to first token.
pub const LLM_ROUTES: &[&str] = &[ROUTE_LLM, ROUTE_CHAT_COMPLETIONS];

/// Counter `{feedback_type, outcome}`: feedback accepted on `/feedback`.
pub const FEEDBACK_TOTAL: &str = "hermes_feedback_total";
/// Counter `{key, outcome}`: authentication outcomes by API key name (`-` when none matched).
pub const AUTH_REQUESTS_TOTAL: &str = "hermes_auth_requests_total";
/// Counter `{policy, client}`: requests refused with 429 (client: key name or `address`).
pub const RATE_LIMITED_TOTAL: &str = "hermes_rate_limited_total";

pub const LABEL_ROUTE: &str = "route";
/// Which path served a canonical route: [`API_VERSION_V1`] or [`API_VERSION_UNVERSIONED`].
pub const LABEL_API_VERSION: &str = "api_version";
/// `api_version` of requests under `/v1`.
pub const API_VERSION_V1: &str = "v1";
/// `api_version` of the legacy unversioned paths, probes and `/metrics`.
pub const API_VERSION_UNVERSIONED: &str = "unversioned";
/// Prefix of the versioned API.
pub const V1_PREFIX: &str = "/v1";
/// Routes that exist only under `/v1` (the OpenAI-compatible API): `/v1` is part of their
/// canonical template, since no unversioned path serves them.
pub const V1_ONLY_ROUTES: &[&str] = &[
    "/v1/chat/completions",
    "/v1/models",
    "/v1/embeddings",
    "/v1/audio/transcriptions",
    "/v1/audio/speech",
];
pub const LABEL_METHOD: &str = "method";
pub const LABEL_STATUS: &str = "status";
pub const LABEL_MODEL: &str = "model";
/// Route label shared by every path that matched no route (bounded cardinality).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `route` and `api_version` labels of a matched route template: the canonical API
/// mounted under `/v1` is labelled like its unversioned path (`/v1/embed_text` ->
/// `("/embed_text", "v1")`, `/v1` -> `("/", "v1")`), so an SLO on a route covers clients of
/// both paths. [`V1_ONLY_ROUTES`] keep their template; anything else is unversioned.
pub fn route_labels(template: &str) -> (&str, &'static str) {
    if V1_ONLY_ROUTES.contains(&template) {
        return (template, API_VERSION_V1);
    }
    match template.strip_prefix(V1_PREFIX) {
        Some("") => ("/", API_VERSION_V1),
        Some(rest) if rest.starts_with('/') => (rest, API_VERSION_V1),
        _ => (template, API_VERSION_UNVERSIONED),
    }
}

/// Histogram buckets (seconds) fine enough to resolve latency SLOs from 5 ms to 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 7.5,
    10.0, 15.0, 30.0,
];

/// Histogram buckets (tokens per second) of LLM output rates, from a slow CPU to a GPU.
pub const LLM_TOKENS_PER_SECOND_BUCKETS: &[f64] = &[
    1.0, 2.5, 5.0, 10.0, 20.0, 35.0, 50.0, 75.0, 100.0, 150.0, 250.0, 500.0, 1000.0,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_paths_share_the_canonical_route() {
        for (template, want) in [
            ("/embed_text", ("/embed_text", API_VERSION_UNVERSIONED)),
            ("/v1/embed_text", ("/embed_text", API_VERSION_V1)),
            ("/v1/llm", ("/llm", API_VERSION_V1)),
            ("/v1", ("/", API_VERSION_V1)),
            ("/v1/", ("/", API_VERSION_V1)),
            ("/", ("/", API_VERSION_UNVERSIONED)),
            (
                "/v1/chat/completions",
                ("/v1/chat/completions", API_VERSION_V1),
            ),
            ("/v1/audio/speech", ("/v1/audio/speech", API_VERSION_V1)),
            ("/v10/x", ("/v10/x", API_VERSION_UNVERSIONED)),
            (UNMATCHED_ROUTE, (UNMATCHED_ROUTE, API_VERSION_UNVERSIONED)),
        ] {
            assert_eq!(route_labels(template), want, "{template}");
        }
    }
}
