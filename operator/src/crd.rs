//! The `HermesDeployment` custom resource: the Rust types are the source of truth of the
//! CRD (`hermes-operator crd`, `crds/`). Doc comments become the schema's descriptions.
//!
//! The OpenAPI schema says what it can (enums, ranges, patterns, list-map keys); CEL rules
//! (`x-kubernetes-validations`) say what it cannot. `validate.rs` re-checks everything that
//! needs the model catalog, which no schema can see.

use k8s_openapi::api::core::v1::{Affinity, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kubernetes memory quantity in bytes, binary or decimal suffix (`512Mi`, `1.5Gi`, `800M`).
pub const MEMORY_QUANTITY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
/// Kubernetes CPU quantity: cores (`1`, `0.5`) or millicores (`500m`).
pub const CPU_QUANTITY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?m?$";
/// A Go/CEL duration of positive units (`250ms`, `1.5s`, `1m30s`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// Desired state of a Hermes runtime deployment: which image, how many replicas, which
/// models it preloads (the operator sizes the pod's memory from them), how it reaches its
/// dependencies, its SLOs and where its pods run.
// Each printcolumn(...) repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "hermes.logos.dev",
    version = "v1alpha1",
    kind = "HermesDeployment",
    plural = "hermesdeployments",
    singular = "hermesdeployment",
    shortname = "hd",
    namespaced,
    status = "HermesDeploymentStatus",
    derive = "PartialEq",
    doc = "A Hermes runtime deployment managed by hermes-operator: the operator sizes its memory from the declared models and reconciles a Deployment, a Service and (replicas > 1) a PodDisruptionBudget.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas"),
    printcolumn(
        name = "Stable Rev",
        type_ = "string",
        json_path = ".status.stableRevision"
    ),
    printcolumn(
        name = "Canary Rev",
        type_ = "string",
        json_path = ".status.canaryRevision"
    ),
    printcolumn(
        name = "Canary Weight",
        type_ = "integer",
        json_path = ".status.canaryWeight"
    ),
    printcolumn(name = "Memory", type_ = "string", json_path = ".status.memory.limit"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HermesDeploymentSpec {
    /// Container image of hermes-runtime (with its models installed), e.g.
    /// `registry.example.com/hermes-runtime:0.1.0`.
    #[schemars(length(min = 1))]
    pub image: String,

    /// Image pull policy of the runtime container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,

    /// Names of Secrets (in this namespace) used to pull the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,

    /// Number of runtime pods. A PodDisruptionBudget (maxUnavailable 1) is created when
    /// it is greater than 1. Ignored while `autoscaling` is set (the autoscaler decides).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 1000))]
    pub replicas: i32,

    /// Horizontal autoscaling: the operator applies a HorizontalPodAutoscaler
    /// (autoscaling/v2) on the stable Deployment and stops forcing `replicas`: the
    /// Deployment keeps the autoscaler's count, a canary is sized from the stable's current
    /// count, and the stable is never scaled up for a canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// Models the runtime preloads (`HERMES_MODELS`); a pod is Ready only once all are
    /// loaded. Names are unique. Each model's memory footprint and load time come from the
    /// model catalog unless `memory` overrides the footprint.
    #[schemars(length(min = 1, max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub models: Vec<ModelSpec>,

    /// How the pod's memory limit and request are computed from the models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryPolicy>,

    /// CPU requests and limits of the runtime container (memory is sized by the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuResources>,

    /// Settings passed to the runtime as environment variables; secrets by reference only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeSettings>,

    /// Service level objectives per route; the canary analysis gates rollouts on them.
    /// Routes are unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["route"]))]
    pub slos: Vec<Slo>,

    /// Rollout strategy. Reserved: filled in by the canary rollout feature; today every
    /// change is applied as a rolling update of the one Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSpec>,

    /// Scheduling and metadata overrides of the runtime pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodOverrides>,
}

fn default_replicas() -> i32 {
    1
}

/// Bounds and targets of the HorizontalPodAutoscaler. At least one target.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.minReplicas <= self.maxReplicas",
     "message": "autoscaling.minReplicas must not exceed autoscaling.maxReplicas"},
    {"rule": "has(self.targetCPUUtilizationPercent) || has(self.targetInFlightPerPod)",
     "message": "autoscaling needs targetCPUUtilizationPercent or targetInFlightPerPod"}
]))]
pub struct AutoscalingSpec {
    /// Fewest pods (default 1).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_replicas: i32,
    /// Most pods.
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: i32,
    /// Average CPU use across the pods, in percent of the CPU request (needs
    /// `cpu.request`).
    #[serde(
        default,
        rename = "targetCPUUtilizationPercent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = 1000))]
    pub target_cpu_utilization_percent: Option<i32>,
    /// Average requests in flight per pod: a `Pods` metric named
    /// `hermes_http_in_flight_requests` that a custom metrics adapter (e.g.
    /// prometheus-adapter) serves from the runtime's gauge of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub target_in_flight_per_pod: Option<i32>,
}

/// Image pull policy.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// One model the runtime preloads.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    /// Catalog id of the model, e.g. `whisper-tiny-en`, `all-minilm-l6-v2`. A name the
    /// operator's catalog does not know needs a `memory` override.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub name: String,
    /// What the model is used for; must match the catalog's task for a known model.
    pub task: ModelTask,
    /// Memory footprint override (a Kubernetes quantity such as `300Mi`), used instead of
    /// the catalog's measured footprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
    )]
    pub memory: Option<String>,
    /// Requests of this model served at the same time (the others wait in its bounded
    /// queue or get a 503); its working memory is reserved this many times. Default: the
    /// catalog's (2 for embedding, 1 for the others). Only `stt` models can change it
    /// today (1..=8, the runtime's `HERMES_STT_CONCURRENCY`); the others run at their
    /// default and refuse another value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 8))]
    pub concurrency: Option<u32>,
}

/// The capability a model serves.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelTask {
    /// Speech to text.
    Stt,
    /// Text to speech.
    Tts,
    /// Sentence embeddings.
    Embedding,
    /// Tokens, tags, entities.
    Nlp,
    /// Text generation.
    Llm,
}

impl ModelTask {
    pub fn to_catalog(self) -> hermes_interface::Task {
        use hermes_interface::Task;
        match self {
            ModelTask::Stt => Task::Stt,
            ModelTask::Tts => Task::Tts,
            ModelTask::Embedding => Task::Embedding,
            ModelTask::Nlp => Task::Nlp,
            ModelTask::Llm => Task::Llm,
        }
    }
}

/// Memory sizing policy: limit = runtimeOverhead + sum of model footprints + headroom,
/// rounded up to a multiple of 64 MiB, then raised to `min`; `max` is a ceiling the
/// computed limit must not exceed (the resource is refused rather than OOM-killed).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.min) || !has(self.max) || quantity(self.min).compareTo(quantity(self.max)) <= 0",
     "message": "memory.min must not exceed memory.max"}
]))]
pub struct MemoryPolicy {
    /// Memory of the runtime process with no model loaded; default: the catalog's runtime
    /// overhead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
    )]
    pub runtime_overhead: Option<String>,
    /// Extra memory on top of overhead + models, in percent of that sum (0..200, default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 200))]
    pub headroom_percent: Option<u32>,
    /// Lower bound of the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
    )]
    pub min: Option<String>,
    /// Upper bound of the limit: a resource whose models need more is refused (InvalidSpec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
    )]
    pub max: Option<String>,
    /// Memory request; default: equal to the limit (Guaranteed QoS for memory). Must not
    /// exceed the computed limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
    )]
    pub request: Option<String>,
}

/// CPU of the runtime container.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct CpuResources {
    /// CPU request, e.g. `500m` or `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[0-9]+(\.[0-9]+)?m?$"))]
    pub request: Option<String>,
    /// CPU limit; unset = no CPU limit (no throttling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[0-9]+(\.[0-9]+)?m?$"))]
    pub limit: Option<String>,
}

/// A key of a Secret in the HermesDeployment's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Runtime settings, rendered as the runtime's environment variables.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeSettings {
    /// Milvus vector store for embeddings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milvus: Option<MilvusSettings>,
    /// Sophia (the LOGOS knowledge service) the runtime forwards to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sophia: Option<SophiaSettings>,
    /// Upstream LLM provider for `/llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSettings>,
    /// Secret key holding the comma-separated API keys the runtime accepts
    /// (`HERMES_API_KEYS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys_secret: Option<SecretKeyRef>,
    /// Allowed CORS origins (`HERMES_CORS_ORIGINS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// Log format of the runtime (default json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// Seconds the runtime drains in-flight requests after SIGTERM (default 20); the pod's
    /// termination grace period is this plus 10 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 600))]
    pub shutdown_grace_seconds: Option<u32>,
    /// Per-client rate limits (token buckets per API key, or per client address
    /// without keys); unset fields keep the runtime's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimitSettings>,
    /// Request timeouts (a 504 when a response has not started by then); unset fields
    /// keep the runtime's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeouts: Option<RequestTimeoutSettings>,
    /// Capabilities (`stt`, `tts`, `embeddings`, `nlp`, `llm`) and deliveries (`milvus`:
    /// embedding persistence, `sophia`: forwarding) switched off
    /// (`HERMES_FEATURES_DISABLED`); a capability switched off must not have models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features_disabled: Vec<String>,
    /// OpenTelemetry tracing of the runtime (`OTEL_*` variables); unset = no tracing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingSettings>,
}

/// `spec.runtime.tracing`: where the runtime exports its spans (OTLP/HTTP protobuf).
/// Every span's resource also names the pod's namespace, the pod and its revision
/// (`k8s.namespace.name`, `k8s.pod.name`, `hermes.revision`, `hermes.track`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingSettings {
    /// Collector base URL, e.g. `http://otel-collector.observability:4318`; spans go to
    /// `<url>/v1/traces` (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub otlp_endpoint: String,
    /// `service.name` of the spans (`OTEL_SERVICE_NAME`); default: the
    /// HermesDeployment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_name: Option<String>,
    /// Secret key holding the export headers, `key=value` pairs separated by commas,
    /// values percent-encoded, e.g. `authorization=Bearer%20abc` (`OTEL_EXPORTER_OTLP_HEADERS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_secret: Option<SecretKeyRef>,
}

/// `spec.runtime.rateLimits`, rendered as `HERMES_RATE_LIMIT_*`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitSettings {
    /// Cost units per minute per client on the API routes; 0 = no limit (runtime default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<u32>,
    /// Requests per minute per client on the LLM routes; 0 = no limit (runtime default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_per_minute: Option<u32>,
    /// Cost of each route in units of `perMinute` (`embed_text`, `stt`, `tts`, `ingest`,
    /// `feedback`, `simple_nlp`); replaces the runtime's table, unlisted routes cost 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub costs: BTreeMap<String, u32>,
}

/// `spec.runtime.requestTimeouts`, rendered as `HERMES_REQUEST_TIMEOUT_MS` and
/// `HERMES_ROUTE_TIMEOUTS_MS`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RequestTimeoutSettings {
    /// Milliseconds for routes without their own (runtime default 60000); 0 = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_ms: Option<u64>,
    /// Milliseconds per route (`embed_text`, `stt`, `tts`, `ingest`, `feedback`,
    /// `simple_nlp`, `llm`); replaces the runtime's table; 0 = none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes_ms: BTreeMap<String, u64>,
}

/// Log output format.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Milvus connection.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MilvusSettings {
    /// Host name of Milvus.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// gRPC port (runtime default 17530).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Collection of the embeddings (runtime default `hermes_embeddings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub collection: Option<String>,
    /// Secret with the Milvus user and password; its keys are named by `usernameKey`
    /// and `passwordKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<CredentialsSecret>,
}

/// A Secret holding a user name and a password.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecret {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the user name (default `username`).
    #[serde(default = "default_username_key")]
    pub username_key: String,
    /// Key of the password (default `password`).
    #[serde(default = "default_password_key")]
    pub password_key: String,
}

fn default_username_key() -> String {
    "username".into()
}
fn default_password_key() -> String {
    "password".into()
}

/// Sophia connection.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SophiaSettings {
    /// Base URL, e.g. `http://sophia.logos.svc:8001`.
    #[schemars(regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub url: String,
    /// Secret key with the bearer token (`SOPHIA_API_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<SecretKeyRef>,
}

/// Upstream LLM provider.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSettings {
    /// Provider name understood by the runtime: `local` (the declared llm model),
    /// `openai` (any OpenAI-compatible API) or `echo`.
    #[schemars(length(min = 1, max = 63))]
    pub provider: String,
    /// Base URL of an OpenAI-compatible API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub base_url: Option<String>,
    /// Model name sent upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Secret key with the provider's API key (`OPENAI_API_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<SecretKeyRef>,
}

/// A service level objective of one route.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.latencyP99) || duration(self.latencyP99) >= duration(self.latencyP95)",
     "message": "latencyP99 must not be below latencyP95"}
]))]
pub struct Slo {
    /// Route template, e.g. `/embed_text`. It covers every path of the capability: the
    /// runtime labels `/v1/embed_text` as route `/embed_text` (with `api_version="v1"`),
    /// and `/v1/embed_text` here means the same as `/embed_text`.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^/\S*$"))]
    pub route: String,
    /// 95th percentile latency bound, a duration such as `250ms` or `2s`.
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub latency_p95: String,
    /// Optional 99th percentile latency bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub latency_p99: Option<String>,
    /// Highest acceptable ratio of 5xx responses, 0..1 (0.01 = 1 %).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_error_rate: f64,
    /// 95th percentile bound of the time to first token, a duration such as `800ms`: what
    /// a chat user waits before text appears (for a stream, `latencyP95` measures the
    /// length of the answer). Only the LLM routes `/llm` and `/v1/chat/completions` have
    /// one, and only streamed requests (`stream: true`) record it: a canary that serves
    /// no streamed request has no data for this check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub ttft_p95: Option<String>,
    /// Try this SLO's canary checks without betting on them: they are evaluated and
    /// recorded (status and Events) but never pass or fail a rollout. Alerts are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl Slo {
    /// The `route` label this SLO's series carry (`/v1/embed_text` -> `/embed_text`).
    pub fn canonical_route(&self) -> &str {
        hermes_interface::metrics::route_labels(&self.route).0
    }
}

/// Rollout strategy. Without `canary` every change is a rolling update of the one
/// Deployment; with it (`canary: {}` takes every default) a pod-template change of a Ready
/// HermesDeployment is rolled out as an analysed canary.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Canary steps, interval and failure handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
    /// How traffic reaches the canary (default: replica ratio behind the one Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficSpec>,
    /// What each analysis checks besides the SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSpec>,
}

/// What an analysis that found no data (no traffic, NaN) counts as.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NoDataPolicy {
    /// A failed check: no evidence is not a pass (the safe default).
    #[default]
    Fail,
    /// The check is skipped: the step advances as if it had passed.
    Skip,
    /// Hold the current step without counting a failure until data arrives.
    Wait,
}

/// Canary settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.steps) || self.steps.isSorted()",
     "message": "canary steps must be increasing"}
]))]
pub struct CanarySpec {
    /// Traffic weights in percent, strictly increasing (default 10, 25, 50, 100). Passing
    /// the analysis at the last step promotes the canary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(range(min = 1, max = 100)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub steps: Vec<i32>,
    /// Time between analyses (and the default PromQL window), a duration such as `1m`
    /// (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Consecutive failed analyses before the canary is rolled back (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub failure_limit: Option<u32>,
    /// What an analysis that finds no data (no canary traffic) counts as: `fail` (default:
    /// no evidence is no pass), `skip` (the step advances) or `wait` (hold the step without
    /// counting a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data_policy: Option<NoDataPolicy>,
    /// Longest a rollout may progress before it is rolled back (unset: no limit; time spent
    /// paused counts too, but a paused rollout is never rolled back for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub max_duration: Option<String>,
    /// HTTP gates, as Flagger's webhooks: the operator POSTs the rollout's state as JSON
    /// and goes by the answer (2xx or not). `pre-rollout`: the canary gets no traffic until
    /// every one answers 2xx (a refusal or a timeout counts as a failed check, so
    /// `failureLimit` of them in a row roll back); `confirm-promotion`: a canary that
    /// passed its last step is promoted only once every one answers 2xx (it waits at its
    /// last step, analyses go on); `rollback`: a 2xx answer rolls the canary back. Each
    /// gate is called at most once per interval. Names are unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub webhooks: Vec<Webhook>,
}

/// When a gate is called and what its answer decides.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookType {
    /// Before the canary takes traffic: a non-2xx answer or a timeout holds it at 0 %
    /// and counts as a failed check.
    PreRollout,
    /// Before a promotion: promotion waits until it answers 2xx.
    ConfirmPromotion,
    /// While the canary progresses or is paused: a 2xx answer rolls it back.
    Rollback,
}

impl WebhookType {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookType::PreRollout => "pre-rollout",
            WebhookType::ConfirmPromotion => "confirm-promotion",
            WebhookType::Rollback => "rollback",
        }
    }
}

/// One HTTP gate of a canary rollout.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.timeout) || (duration(self.timeout) > duration('0s') && duration(self.timeout) <= duration('1m'))",
     "message": "a webhook's timeout must be above 0 and at most 1m"}
]))]
pub struct Webhook {
    /// Name shown in the status and Events (unique).
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9]([-a-zA-Z0-9_. ]*[a-zA-Z0-9])?$")
    )]
    pub name: String,
    #[serde(rename = "type")]
    pub type_: WebhookType,
    /// http(s) URL the operator POSTs to.
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub url: String,
    /// Longest wait for the answer, a duration such as `5s` (default 10s, at most 1m); no
    /// answer in time counts as a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Sent as `metadata` in the JSON body, as is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Traffic routing of a canary.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSpec {
    /// A Gateway API `HTTPRoute` (same namespace) whose rules the operator points at two
    /// Services, `<name>-stable` and `<name>-canary`, with the canary's weight. Unset:
    /// replica ratio (stable and canary pods behind the one Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_route: Option<HttpRouteRef>,
}

/// An `HTTPRoute` by name.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRef {
    /// Name of the HTTPRoute in the HermesDeployment's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Checks of the canary analysis beyond the built-in ones (error rate and latency of every
/// SLO).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSpec {
    /// Prometheus base URL for this resource, overriding the operator's `--prometheus-url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub prometheus_url: Option<String>,
    /// PromQL range of the rate windows, e.g. `2m` (default: the canary interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(ms|s|m|h|d))+$"))]
    pub window: Option<String>,
    /// Also compare the canary's error rate with the stable's: it fails when it exceeds
    /// the stable's rate plus `tolerance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_with_stable: Option<StableComparison>,
    /// Custom PromQL checks, with `{{namespace}}`, `{{name}}`, `{{revision}}` (the canary's)
    /// and `{{interval}}` (the window) substituted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub metrics: Vec<CustomMetric>,
    /// Error-budget burn-rate gate over every SLO (multi-window, multi-burn-rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_rate: Option<BurnRateGate>,
    /// Fewest requests the canary must have served on a route within the window for that
    /// route's checks to count (unset: no minimum). Below it the route's checks have no
    /// data and `canary.noDataPolicy` decides: one failed request out of two is not a
    /// 50 % error rate. Without SLOs it applies to the canary's requests on all routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_requests: Option<u64>,
}

/// Canary versus stable.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StableComparison {
    /// Error-rate ratio the canary may exceed the stable's by (0.005 = half a point).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub tolerance: f64,
}

/// A custom PromQL check. The query must return one sample; the value must lie within
/// `min`..`max` (inclusive).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.min) || has(self.max)", "message": "a custom metric needs min or max"}
]))]
pub struct CustomMetric {
    /// Name shown in the status, Events and `hermes-operator analyze`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
    )]
    pub name: String,
    /// PromQL template.
    #[schemars(length(min = 1, max = 4096))]
    pub query: String,
    /// Lowest passing value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest passing value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Try the metric without betting on it: evaluated and recorded (status and Events),
    /// never decides the rollout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// Burn-rate gate: for each window pair, the canary fails when both its long and its short
/// window burn the SLO's error budget faster than `factor` times the sustainable rate.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct BurnRateGate {
    /// Window pairs (default: the SRE workbook's pages, 1h/5m at 14.4 and 6h/30m at 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub windows: Vec<BurnRateWindow>,
}

/// One long/short window pair of the burn-rate gate.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BurnRateWindow {
    /// Long window, a PromQL duration such as `1h`.
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(ms|s|m|h|d))+$"))]
    pub long: String,
    /// Short window confirming the burn still goes on, e.g. `5m`.
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(ms|s|m|h|d))+$"))]
    pub short: String,
    /// Burn rate (multiple of the sustainable rate) above which the gate fails.
    #[schemars(range(min = 0.0))]
    pub factor: f64,
}

/// Pod scheduling and metadata overrides.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodOverrides {
    /// Node selector of the runtime pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of the runtime pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Affinity of the runtime pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Extra pod annotations (the operator's own keys win on conflict).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Extra pod labels (the operator's own keys win on conflict).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Priority class of the runtime pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Service account of the runtime pods (default: the namespace's `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// Observed state, written by the operator only.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct HermesDeploymentStatus {
    /// `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One-word summary: Pending, Progressing, Ready, Degraded or Invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Ready, Progressing, InvalidSpec, Degraded (standard Kubernetes conditions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Pods of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Ready pods of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Pods already running the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Revision (pod template hash) of the stable workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// Revision under canary analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<String>,
    /// Traffic weight of the canary in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_weight: Option<i32>,
    /// The computed memory and its parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStatus>,
    /// Name of the HorizontalPodAutoscaler the operator applied (`spec.autoscaling`); the
    /// operator deletes it when autoscaling is turned off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<String>,
    /// The whole canary rollout state (only with `rollout.canary`): an operator restart
    /// resumes from here exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
}

/// Where a canary rollout stands.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RolloutStatusPhase {
    /// One revision serves all traffic.
    Stable,
    /// The canary takes `weight` percent while analyses run.
    Progressing,
    /// Held by the user; analyses are not acted on.
    Paused,
    /// The canary passed; the stable is taking its template.
    Promoting,
    /// An analysis failed `failureLimit` times in a row (or the max duration passed): the
    /// canary is at weight 0 and scaled down, the stable untouched.
    RolledBack,
    /// Stopped by the user; like RolledBack.
    Aborted,
}

/// The persisted canary rollout state.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    pub phase: RolloutStatusPhase,
    /// Index of the current step in `rollout.canary.steps` (Progressing, Paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// Canary traffic weight in percent of the current step (the canary takes none while
    /// `awaitingPreRollout`; `status.canaryWeight` is what it takes now).
    #[serde(default)]
    pub weight: i32,
    /// Revision serving the stable traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// Revision under analysis (kept after a rollback so a retry can restart it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<String>,
    /// Failed analyses in a row at the current step.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Why the last analysis failed, while failures are being counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// Why the rollout was rolled back or aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the current canary revision's rollout started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the phase or step last changed (the next analysis is due an interval later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition: Option<Time>,
    /// The latest analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analysis: Option<AnalysisStatus>,
    /// The latest manual command (`hermes.logos.dev/rollout` annotation) and its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_command: Option<CommandStatus>,
    /// The canary waits for its `pre-rollout` gates: no traffic yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_pre_rollout: bool,
    /// The last call of each gate (`rollout.canary.webhooks`) for the canary revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateStatus>,
}

/// The last call of one gate.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// The webhook's name.
    pub name: String,
    #[serde(rename = "type")]
    pub type_: WebhookType,
    /// Canary revision it was called for.
    pub revision: String,
    /// `Passed` (2xx), `Refused` (another status), `TimedOut` or `Unreachable`.
    pub result: String,
    /// The HTTP status, the start of the answer's body, or why there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it was called.
    pub time: Time,
}

/// A manual rollout command as the operator took it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandStatus {
    /// The annotation's value, e.g. `promote`.
    pub command: String,
    /// `Applied`, `Ignored` (it does not apply in the rollout's phase) or `Invalid`.
    pub outcome: String,
    /// Why it was ignored or invalid, and what to do instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the operator took it.
    pub time: Time,
}

/// One analysis run.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisStatus {
    /// When it ran.
    pub time: Time,
    /// Revision it analysed.
    pub revision: String,
    /// `Passed`, `Failed` or `NoData`.
    pub result: String,
    /// Every check with its value and bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStatus>,
}

/// The last value of one check.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckStatus {
    /// e.g. `error-rate /embed_text`, `latency-p95 /embed_text`, a custom metric's name.
    pub name: String,
    /// `pass`, `fail`, `noData` or `error`.
    pub result: String,
    /// The value Prometheus returned (absent: no data or an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Why it failed or errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A dry-run check: recorded, never decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// Summary phase of a HermesDeployment.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    /// Applied; no pod of the current revision is ready yet.
    Pending,
    /// Pods of the current revision are being rolled out.
    Progressing,
    /// Every replica runs the current revision and is ready.
    Ready,
    /// The workload failed to progress (deadline exceeded, replica failure).
    Degraded,
    /// The spec cannot be deployed; see the InvalidSpec condition.
    Invalid,
    /// The last canary was rolled back or aborted; the stable serves everything. See the
    /// RolledBack condition.
    RolledBack,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Progressing => "Progressing",
            Phase::Ready => "Ready",
            Phase::Degraded => "Degraded",
            Phase::Invalid => "Invalid",
            Phase::RolledBack => "RolledBack",
        }
    }
}

/// The memory calculation, as applied.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStatus {
    /// Memory limit of the runtime container.
    pub limit: String,
    /// Memory request of the runtime container.
    pub request: String,
    /// Runtime overhead part.
    pub runtime_overhead: String,
    /// Headroom part.
    pub headroom: String,
    /// Each model's footprint and where it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelMemoryStatus>,
}

/// One model's share of the memory limit.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelMemoryStatus {
    pub name: String,
    /// Footprint used for sizing.
    pub footprint: String,
    /// `measured`, `estimate` (catalog) or `override` (spec).
    pub source: String,
    /// Working memory reserved per request served at once (catalog), and how many are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}
