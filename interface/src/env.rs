//! Environment variable names the runtime reads (and the operator sets).
//!
//! The `HERMES_*` names are the runtime's own; the others are the earlier Python
//! service's names, kept so that existing deployments keep working.

pub const HOST: &str = "HERMES_HOST";
pub const PORT: &str = "HERMES_PORT";
pub const MODEL_DIR: &str = "HERMES_MODEL_DIR";
/// Comma-separated model ids to preload; unset = every installed model.
pub const MODELS: &str = "HERMES_MODELS";
pub const CORS_ORIGINS: &str = "HERMES_CORS_ORIGINS";
/// `json` or `text`.
pub const LOG_FORMAT: &str = "HERMES_LOG_FORMAT";
/// Seconds SIGTERM waits for in-flight requests before the process exits.
pub const SHUTDOWN_GRACE_SECONDS: &str = "HERMES_SHUTDOWN_GRACE_SECONDS";
/// Revision label value of the pod (set by the operator; reported in metrics).
pub const REVISION: &str = "HERMES_REVISION";

pub const MILVUS_HOST: &str = "MILVUS_HOST";
pub const MILVUS_PORT: &str = "MILVUS_PORT";
pub const MILVUS_COLLECTION_NAME: &str = "MILVUS_COLLECTION_NAME";
/// Milvus user and password (the operator fills them from a Secret); unset = no auth.
pub const MILVUS_USER: &str = "MILVUS_USER";
pub const MILVUS_PASSWORD: &str = "MILVUS_PASSWORD";
pub const SOPHIA_HOST: &str = "SOPHIA_HOST";
pub const SOPHIA_PORT: &str = "SOPHIA_PORT";
pub const SOPHIA_URL: &str = "SOPHIA_URL";
pub const SOPHIA_API_KEY: &str = "SOPHIA_API_KEY";
pub const SOPHIA_API_TOKEN: &str = "SOPHIA_API_TOKEN";
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
pub const LLM_PROVIDER: &str = "HERMES_LLM_PROVIDER";
pub const LLM_BASE_URL: &str = "HERMES_LLM_BASE_URL";
pub const LLM_MODEL: &str = "HERMES_LLM_MODEL";
/// Comma-separated API keys the runtime accepts, each `name:key` (or a bare key).
pub const API_KEYS: &str = "HERMES_API_KEYS";
/// File of API keys (a mounted Secret), one `name:key` a line; reloaded when it changes.
pub const API_KEYS_FILE: &str = "HERMES_API_KEYS_FILE";
/// Comma-separated paths answered without an API key.
pub const AUTH_OPEN_PATHS: &str = "HERMES_AUTH_OPEN_PATHS";
/// Longest text field in characters (`/embed_text` `text`, ...); longer -> 422 `string_too_long`.
pub const MAX_TEXT_CHARS: &str = "HERMES_MAX_TEXT_CHARS";
/// Most texts one `/v1/embeddings` request may hold.
pub const EMBEDDINGS_MAX_INPUTS: &str = "HERMES_EMBEDDINGS_MAX_INPUTS";
/// Largest JSON request body in bytes; larger -> 413.
pub const MAX_JSON_BODY_BYTES: &str = "HERMES_MAX_JSON_BODY_BYTES";
/// Requests per minute per client on the LLM routes (`/llm`, `/v1/chat/completions`); 0 = no limit.
pub const RATE_LIMIT_LLM_PER_MINUTE: &str = "HERMES_RATE_LIMIT_LLM_PER_MINUTE";
/// Cost units per minute per client on the other API routes; 0 = no limit.
pub const RATE_LIMIT_PER_MINUTE: &str = "HERMES_RATE_LIMIT_PER_MINUTE";
/// Cost of each route in units of `HERMES_RATE_LIMIT_PER_MINUTE`: `route=cost,...`.
pub const RATE_LIMIT_COSTS: &str = "HERMES_RATE_LIMIT_COSTS";
/// Seconds a 503 (overload, a dependency down) tells clients to wait (`Retry-After`).
pub const RETRY_AFTER_SECONDS: &str = "HERMES_RETRY_AFTER_SECONDS";
/// Milliseconds a client has to send a request's headers; then the connection is closed.
pub const HEADER_READ_TIMEOUT_MS: &str = "HERMES_HEADER_READ_TIMEOUT_MS";
/// Milliseconds a client has to send a request's body; then 408.
pub const BODY_READ_TIMEOUT_MS: &str = "HERMES_BODY_READ_TIMEOUT_MS";
/// Connections served at the same time; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: &str = "HERMES_MAX_CONNECTIONS";
/// Milliseconds a request may run before its response starts; then 504 (routes without their own).
pub const REQUEST_TIMEOUT_MS: &str = "HERMES_REQUEST_TIMEOUT_MS";
/// Per-route request timeouts, `route=ms,...`; 0 = none.
pub const ROUTE_TIMEOUTS_MS: &str = "HERMES_ROUTE_TIMEOUTS_MS";
/// Capabilities and deliveries turned off: `stt,tts,embeddings,nlp,llm,milvus,sophia`.
pub const FEATURES_DISABLED: &str = "HERMES_FEATURES_DISABLED";

/// Route names `HERMES_RATE_LIMIT_COSTS` takes (the operator checks the CRD's against them).
pub const RATE_LIMIT_ROUTES: [&str; 6] = [
    "embed_text",
    "stt",
    "tts",
    "ingest",
    "feedback",
    "simple_nlp",
];
/// Route names `HERMES_ROUTE_TIMEOUTS_MS` takes: the rate-limited ones and the LLM's.
pub const TIMEOUT_ROUTES: [&str; RATE_LIMIT_ROUTES.len() + 1] = {
    let mut routes = [""; RATE_LIMIT_ROUTES.len() + 1];
    let mut i = 0;
    while i < RATE_LIMIT_ROUTES.len() {
        routes[i] = RATE_LIMIT_ROUTES[i];
        i += 1;
    }
    routes[i] = "llm";
    routes
};
/// Names `HERMES_FEATURES_DISABLED` takes, in `/health`'s order.
pub const FEATURES: [&str; 7] = ["stt", "tts", "embeddings", "nlp", "llm", "milvus", "sophia"];

/// `/stt`: largest upload in bytes (default 25 MiB); larger -> 413.
pub const STT_MAX_BYTES: &str = "HERMES_STT_MAX_BYTES";
/// `/stt`: longest audio in seconds (default 3600); longer -> 413.
pub const STT_MAX_SECONDS: &str = "HERMES_STT_MAX_SECONDS";
/// `/stt`: threads whisper.cpp uses for one transcription (default: the cores, at most 8).
pub const STT_THREADS: &str = "HERMES_STT_THREADS";
/// `/stt`: transcriptions one model runs at the same time (default 1).
pub const STT_CONCURRENCY: &str = "HERMES_STT_CONCURRENCY";
/// `/stt`: transcriptions one model admits, running + waiting, before 503 (default 32).
pub const STT_QUEUE: &str = "HERMES_STT_QUEUE";

/// `/embed_text`: texts per forward pass at most (default 8).
pub const EMBEDDING_BATCH_SIZE: &str = "HERMES_EMBEDDING_BATCH_SIZE";
/// `/embed_text`: tokens per forward pass at most, padding counted (default 8192).
pub const EMBEDDING_BATCH_TOKENS: &str = "HERMES_EMBEDDING_BATCH_TOKENS";
/// `/embed_text`: milliseconds a worker holding less than a full batch waits for more (default 0).
pub const EMBEDDING_MAX_WAIT_MS: &str = "HERMES_EMBEDDING_MAX_WAIT_MS";
/// `/embed_text`: requests one model keeps waiting before it answers 503 (default 1024).
pub const EMBEDDING_QUEUE: &str = "HERMES_EMBEDDING_QUEUE";
/// `/embed_text`: ONNX Runtime sessions (worker threads, passes at once) per model (default 2).
pub const EMBEDDING_SESSIONS: &str = "HERMES_EMBEDDING_SESSIONS";
/// `/embed_text`: ONNX Runtime intra-op threads of the primary session (default: the cores).
pub const EMBEDDING_THREADS: &str = "HERMES_EMBEDDING_THREADS";
/// `/embed_text`: bytes of the embedding cache (model + exact text); 0 turns it off.
pub const EMBEDDING_CACHE_BYTES: &str = "HERMES_EMBEDDING_CACHE_BYTES";

/// Testing aid, off by default: milliseconds the runtime waits before it starts
/// loading models, so tests can observe the not-ready phase deterministically.
pub const TEST_LOAD_DELAY_MS: &str = "HERMES_TEST_LOAD_DELAY_MS";

/// Folder of the durable outbox (records Milvus/Sophia have not acknowledged yet).
pub const OUTBOX_DIR: &str = "HERMES_OUTBOX_DIR";
/// Bounds of the outbox: pending bytes and records (full = 503, never silent loss).
pub const OUTBOX_MAX_BYTES: &str = "HERMES_OUTBOX_MAX_BYTES";
pub const OUTBOX_MAX_RECORDS: &str = "HERMES_OUTBOX_MAX_RECORDS";
/// Milliseconds allowed to connect to Milvus and for each Milvus call.
pub const MILVUS_TIMEOUT_MS: &str = "HERMES_MILVUS_TIMEOUT_MS";
/// Seconds the runtime keeps delivering its outbox after it stopped serving (SIGTERM),
/// so that a pod deletion (a rollout) leaves nothing behind in its emptyDir.
pub const OUTBOX_DRAIN_SECONDS: &str = "HERMES_OUTBOX_DRAIN_SECONDS";
/// Its default; the operator adds it to the pod's termination grace period.
pub const DEFAULT_OUTBOX_DRAIN_SECONDS: u32 = 20;
/// Longest wait (milliseconds) between two replays of the outbox.
pub const RETRY_MAX_DELAY_MS: &str = "HERMES_RETRY_MAX_DELAY_MS";
/// Testing aid, off by default: fraction (0..1) of API requests answered with a 500.
pub const FAULT_5XX_RATE: &str = "HERMES_FAULT_5XX_RATE";
/// Testing aid, off by default: milliseconds added to every API request.
pub const FAULT_LATENCY_MS: &str = "HERMES_FAULT_LATENCY_MS";

/// `/llm` (openai provider): file holding the upstream API key (a mounted Secret); wins over `OPENAI_API_KEY`.
pub const LLM_API_KEY_FILE: &str = "HERMES_LLM_API_KEY_FILE";
/// `/llm` (local provider): system message put before a conversation that has none.
pub const LLM_SYSTEM_PROMPT: &str = "HERMES_LLM_SYSTEM_PROMPT";
/// `/llm` (local provider): most tokens generated when a request sets no `max_tokens`.
pub const LLM_MAX_TOKENS: &str = "HERMES_LLM_MAX_TOKENS";
/// `/llm`, `/v1/chat/completions`: largest `max_tokens` a request may ask for; larger -> 422.
pub const LLM_MAX_TOKENS_CAP: &str = "HERMES_LLM_MAX_TOKENS_CAP";
/// `/llm` (openai provider): retries after a 429, a 5xx or a failed connection.
pub const LLM_MAX_RETRIES: &str = "HERMES_LLM_MAX_RETRIES";

/// `/tts`: longest text in characters; longer -> 413.
pub const TTS_MAX_CHARS: &str = "HERMES_TTS_MAX_CHARS";
/// `/tts`: ONNX Runtime intra-op threads per synthesis.
pub const TTS_THREADS: &str = "HERMES_TTS_THREADS";
/// `/tts`: the espeak-ng program (a name on PATH, or a path).
pub const ESPEAK_NG: &str = "HERMES_ESPEAK_NG";
/// `/tts`: seconds one espeak-ng call may take.
pub const TTS_ESPEAK_TIMEOUT_SECONDS: &str = "HERMES_TTS_ESPEAK_TIMEOUT_SECONDS";
/// `libonnxruntime.so*` to load for the voices and the embedding models (default: the one `make models` installs).
pub const ORT_LIB: &str = "HERMES_ORT_LIB";
/// ONNX Runtime's own variable, honoured when `HERMES_ORT_LIB` is unset.
pub const ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";
/// `/tts`: overrides of the voice's inference scales.
pub const TTS_NOISE_SCALE: &str = "HERMES_TTS_NOISE_SCALE";
pub const TTS_LENGTH_SCALE: &str = "HERMES_TTS_LENGTH_SCALE";
pub const TTS_NOISE_W: &str = "HERMES_TTS_NOISE_W";

/// `RUST_LOG`: the log filter (tracing-subscriber's syntax).
pub const RUST_LOG: &str = "RUST_LOG";

/// OpenTelemetry's standard variables: traces go over OTLP/HTTP to this endpoint
/// (`/v1/traces` appended), or to the traces endpoint as given; unset = no tracing.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `service.name` of the exported spans.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

/// One variable the runtime reads: its name, default and meaning. [`VARS`] is the
/// one table `hermes-runtime --help` prints and `docs/configuration.md` is generated
/// from; a test of the runtime's config checks that it reads exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    /// What an unset (or empty) variable means.
    pub default: &'static str,
    pub meaning: &'static str,
    pub group: &'static str,
}

const fn var(
    group: &'static str,
    name: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> EnvVar {
    EnvVar {
        name,
        default,
        meaning,
        group,
    }
}

/// Every variable the runtime reads, by group, in the order `--help` prints them.
pub const VARS: &[EnvVar] = &[
    var(
        "server",
        HOST,
        "127.0.0.1 (image: 0.0.0.0)",
        "IP address to listen on (`localhost` accepted)",
    ),
    var("server", PORT, "8080", "TCP port"),
    var(
        "server",
        MODEL_DIR,
        "models",
        "folder holding `<model-id>/` folders (`make models` lays them out); must exist",
    ),
    var(
        "server",
        MODELS,
        "every installed model this build serves",
        "comma-separated model ids to preload; an unknown id, a missing file or an unserved capability is a config error",
    ),
    var(
        "server",
        CORS_ORIGINS,
        "*",
        "`*` or a comma-separated list of origins (`https://app.example`)",
    ),
    var(
        "server",
        LOG_FORMAT,
        "json",
        "`json` (one object per line) or `text`",
    ),
    var(
        "server",
        RUST_LOG,
        "info",
        "log filter (`debug`, `hermes_runtime=debug,info`, ...)",
    ),
    var(
        "server",
        SHUTDOWN_GRACE_SECONDS,
        "10",
        "on SIGTERM/SIGINT, how long in-flight requests may take to finish",
    ),
    var(
        "server",
        REVISION,
        "unset",
        "revision of the pod (set by the operator)",
    ),
    var(
        "protection",
        API_KEYS,
        "unset (no authentication)",
        "comma-separated API keys, each `name:key` (a bare key is named `key-N`); the name, never the key, is logged",
    ),
    var(
        "protection",
        API_KEYS_FILE,
        "unset",
        "file of API keys, one `name:key` a line (`#` comments); re-read every second when it changes",
    ),
    var(
        "protection",
        AUTH_OPEN_PATHS,
        "/livez,/readyz,/health,/v1/health,/metrics,/openapi.json",
        "paths answered without an API key",
    ),
    var(
        "protection",
        MAX_TEXT_CHARS,
        "10000",
        "longest text field in characters; longer -> 422 `string_too_long`",
    ),
    var(
        "protection",
        EMBEDDINGS_MAX_INPUTS,
        "256",
        "most texts in one `/v1/embeddings` request (1..=2048); more -> 400",
    ),
    var(
        "protection",
        MAX_JSON_BODY_BYTES,
        "2097152",
        "largest JSON request body; larger -> 413 (`/stt`, `/ingest/media` have their own)",
    ),
    var(
        "protection",
        RATE_LIMIT_LLM_PER_MINUTE,
        "10",
        "requests per minute per client (API key, or address without auth) on `/llm` and `/v1/chat/completions`; 0 = off",
    ),
    var(
        "protection",
        RATE_LIMIT_PER_MINUTE,
        "600",
        "cost units per minute per client on the other API routes; 0 = off",
    ),
    var(
        "protection",
        RATE_LIMIT_COSTS,
        "stt=10,tts=5,ingest=10 (others 1)",
        "per-route costs: `embed_text`, `stt`, `tts`, `ingest`, `feedback`, `simple_nlp`",
    ),
    var(
        "protection",
        RETRY_AFTER_SECONDS,
        "1",
        "`Retry-After` of every 503 (overload or a dependency down)",
    ),
    var(
        "protection",
        HEADER_READ_TIMEOUT_MS,
        "10000",
        "time a client has to send a request's headers, counted from when the connection waits for one (so also the longest idle keep-alive); then the connection is closed",
    ),
    var(
        "protection",
        BODY_READ_TIMEOUT_MS,
        "30000",
        "time a client has to send a request's whole body, from the end of its headers; then 408 and the connection is closed",
    ),
    var(
        "protection",
        MAX_CONNECTIONS,
        "1024",
        "connections served at the same time; one more is answered 503 with `Retry-After` and closed",
    ),
    var(
        "protection",
        REQUEST_TIMEOUT_MS,
        "60000",
        "milliseconds a request may run until its response starts (a stream then runs on); past it 504 with a JSON `detail`; 0 = none",
    ),
    var(
        "protection",
        ROUTE_TIMEOUTS_MS,
        "stt=300000,ingest=300000,tts=120000,llm=300000",
        "per-route request timeouts in ms (`embed_text`, `stt`, `tts`, `ingest`, `feedback`, `simple_nlp`, `llm`; the OpenAI routes follow their Hermes counterparts); 0 = none",
    ),
    var(
        "features",
        FEATURES_DISABLED,
        "unset (all on)",
        "features turned off, comma-separated: `stt`, `tts`, `embeddings`, `nlp`, `llm` (their routes answer 503, their models are not loaded), `milvus` (embeddings are not persisted), `sophia` (no forwarding to Sophia); reported in `/health`",
    ),
    var("milvus", MILVUS_HOST, "localhost", "Milvus host"),
    var("milvus", MILVUS_PORT, "17530", "Milvus port"),
    var(
        "milvus",
        MILVUS_COLLECTION_NAME,
        "hermes_embeddings",
        "collection name (letters, digits, `_`)",
    ),
    var("milvus", MILVUS_USER, "unset", "Milvus user"),
    var(
        "milvus",
        MILVUS_PASSWORD,
        "unset",
        "Milvus password (needs a user)",
    ),
    var(
        "milvus",
        MILVUS_TIMEOUT_MS,
        "3000",
        "milliseconds to connect to Milvus and for each call",
    ),
    var(
        "outbox",
        OUTBOX_DIR,
        "hermes-outbox (image: /var/lib/hermes/outbox)",
        "folder of the durable outbox (records Milvus/Sophia have not acknowledged)",
    ),
    var(
        "outbox",
        OUTBOX_MAX_BYTES,
        "268435456",
        "pending bytes the outbox holds before writes are refused (503)",
    ),
    var(
        "outbox",
        OUTBOX_MAX_RECORDS,
        "100000",
        "pending records the outbox holds before writes are refused (503)",
    ),
    var(
        "outbox",
        OUTBOX_DRAIN_SECONDS,
        "20",
        "after SIGTERM, how long the outbox keeps being delivered before exit",
    ),
    var(
        "outbox",
        RETRY_MAX_DELAY_MS,
        "30000",
        "longest wait between two replays of the outbox",
    ),
    var(
        "sophia",
        SOPHIA_URL,
        "http://SOPHIA_HOST:SOPHIA_PORT",
        "Sophia's base URL (http/https); wins over host/port",
    ),
    var("sophia", SOPHIA_HOST, "localhost", "Sophia's host"),
    var("sophia", SOPHIA_PORT, "8001", "Sophia's port"),
    var(
        "sophia",
        SOPHIA_API_KEY,
        "unset",
        "bearer token for Sophia (wins over SOPHIA_API_TOKEN); without one, no proposals are sent",
    ),
    var(
        "sophia",
        SOPHIA_API_TOKEN,
        "unset",
        "bearer token for Sophia (the earlier service's name)",
    ),
    var(
        "llm",
        LLM_PROVIDER,
        "local when an llm model is loaded, else none",
        "default provider: `echo`, `local` or `openai`",
    ),
    var(
        "llm",
        LLM_BASE_URL,
        "https://api.openai.com/v1 (when only a key is set)",
        "OpenAI-compatible upstream of the `openai` provider",
    ),
    var(
        "llm",
        LLM_MODEL,
        "gpt-4o-mini",
        "model sent to the `openai` upstream",
    ),
    var(
        "llm",
        OPENAI_API_KEY,
        "unset",
        "API key of the `openai` upstream",
    ),
    var(
        "llm",
        LLM_API_KEY_FILE,
        "unset",
        "file holding the upstream API key (a mounted Secret); wins over OPENAI_API_KEY",
    ),
    var(
        "llm",
        LLM_MAX_RETRIES,
        "2",
        "retries of an `openai` call after a 429, a 5xx or a failed connection (0..=10)",
    ),
    var(
        "llm",
        LLM_SYSTEM_PROMPT,
        "You are a helpful assistant.",
        "system message of the `local` provider; `template` keeps the model template's own",
    ),
    var(
        "llm",
        LLM_MAX_TOKENS,
        "256",
        "most tokens the `local` provider generates when a request sets no max_tokens (1..=8192)",
    ),
    var(
        "llm",
        LLM_MAX_TOKENS_CAP,
        "2048",
        "largest max_tokens a request may ask for (1..=8192); a larger value is a 422 naming the cap; a local generation also stops at the model's context window",
    ),
    var(
        "stt",
        STT_MAX_BYTES,
        "26214400",
        "largest `/stt` upload in bytes; larger -> 413",
    ),
    var(
        "stt",
        STT_MAX_SECONDS,
        "3600",
        "longest `/stt` audio in seconds; longer -> 413",
    ),
    var(
        "stt",
        STT_THREADS,
        "the cores, at most 8",
        "threads whisper.cpp uses for one transcription",
    ),
    var(
        "stt",
        STT_CONCURRENCY,
        "1",
        "transcriptions one model runs at the same time",
    ),
    var(
        "stt",
        STT_QUEUE,
        "32",
        "transcriptions one model admits, running + waiting, before 503",
    ),
    var(
        "embedding",
        EMBEDDING_BATCH_SIZE,
        "8",
        "texts per forward pass at most (1..=1024)",
    ),
    var(
        "embedding",
        EMBEDDING_BATCH_TOKENS,
        "8192",
        "tokens per forward pass at most, padding counted: rows x longest row (1..=1048576); a text longer than the budget still runs, alone",
    ),
    var(
        "embedding",
        EMBEDDING_MAX_WAIT_MS,
        "0",
        "milliseconds a worker holding less than a full batch waits for more requests (0..=10000); 0: requests that arrive during a pass form the next one",
    ),
    var(
        "embedding",
        EMBEDDING_QUEUE,
        "1024",
        "requests one embedding model keeps waiting (1..=1000000); the next one is a 503",
    ),
    var(
        "embedding",
        EMBEDDING_SESSIONS,
        "2 (1 on one core)",
        "ONNX Runtime sessions per embedding model, each with its own worker thread: forward passes at once (1..=64); session 0, the primary, serves alone while the others are idle, the others (one intra-op thread each) join in under load; each session adds ~80 MiB",
    ),
    var(
        "embedding",
        EMBEDDING_THREADS,
        "the cores",
        "ONNX Runtime intra-op threads of the primary embedding session (1..=256); the other sessions use one each",
    ),
    var(
        "embedding",
        EMBEDDING_CACHE_BYTES,
        "33554432",
        "bytes of the embedding cache shared by the embedding models (LRU, keyed by model and exact text); 0 turns it off",
    ),
    var(
        "tts",
        TTS_MAX_CHARS,
        "5000",
        "longest `/tts` text in characters; longer -> 413",
    ),
    var(
        "tts",
        TTS_THREADS,
        "the cores",
        "ONNX Runtime intra-op threads per synthesis",
    ),
    var(
        "tts",
        ESPEAK_NG,
        "espeak-ng",
        "the espeak-ng program (a name on PATH, or a path)",
    ),
    var(
        "tts",
        TTS_ESPEAK_TIMEOUT_SECONDS,
        "10",
        "seconds one espeak-ng call may take",
    ),
    var(
        "tts",
        ORT_LIB,
        "<model dir>/onnxruntime/libonnxruntime.so*",
        "ONNX Runtime library to load (the voices and the embedding models)",
    ),
    var(
        "tts",
        ORT_DYLIB_PATH,
        "unset",
        "ONNX Runtime's own variable, honoured when HERMES_ORT_LIB is unset",
    ),
    var(
        "tts",
        TTS_NOISE_SCALE,
        "the voice's",
        "override of the voice's noise scale (0..=10; 0 = deterministic)",
    ),
    var(
        "tts",
        TTS_LENGTH_SCALE,
        "the voice's",
        "override of the voice's length scale (speed; (0, 10])",
    ),
    var(
        "tts",
        TTS_NOISE_W,
        "the voice's",
        "override of the voice's phoneme-width noise (0..=10)",
    ),
    var(
        "tracing",
        OTEL_EXPORTER_OTLP_ENDPOINT,
        "unset: no tracing",
        "OTLP/HTTP collector base URL (`http://collector:4318`); spans go to `<url>/v1/traces` as protobuf. Other `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) are honoured",
    ),
    var(
        "tracing",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        "unset",
        "full OTLP/HTTP traces URL, used as given; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`",
    ),
    var(
        "tracing",
        OTEL_SERVICE_NAME,
        "hermes-runtime",
        "`service.name` of the exported spans",
    ),
    var(
        "testing",
        TEST_LOAD_DELAY_MS,
        "0",
        "TESTING AID: wait this long before loading models; never set in production",
    ),
    var(
        "testing",
        FAULT_5XX_RATE,
        "0",
        "TESTING AID: fraction (0..1) of API requests answered with a 500",
    ),
    var(
        "testing",
        FAULT_LATENCY_MS,
        "0",
        "TESTING AID: milliseconds added to every API request",
    ),
];

/// The table entry of `name`.
pub fn find(name: &str) -> Option<&'static EnvVar> {
    VARS.iter().find(|v| v.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_s_capability_is_a_feature_name() {
        for task in crate::Task::ALL {
            assert!(FEATURES.contains(&task.feature()), "{task:?}");
        }
    }

    #[test]
    fn timeout_routes_are_the_rate_limited_ones_and_the_llm() {
        assert_eq!(TIMEOUT_ROUTES[..RATE_LIMIT_ROUTES.len()], RATE_LIMIT_ROUTES);
        assert_eq!(TIMEOUT_ROUTES.last(), Some(&"llm"));
    }

    /// Every `pub const NAME: &str = "..."` of this file is in [`VARS`], once.
    #[test]
    fn every_name_declared_here_is_in_the_table_once() {
        let source = include_str!("env.rs");
        let mut declared = Vec::new();
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            if let Some((_, value)) = rest.split_once(": &str = \"") {
                declared.push(value.trim_end_matches("\";"));
            }
        }
        assert!(declared.len() > 40, "parsed {declared:?}");
        for name in &declared {
            let count = VARS.iter().filter(|v| v.name == *name).count();
            assert_eq!(count, 1, "{name} appears {count} times in VARS");
        }
        assert_eq!(
            declared.len(),
            VARS.len(),
            "VARS holds a name not declared as a constant"
        );
    }
}
