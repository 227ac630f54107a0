//! Typed configuration from the environment, validated once at start: the one
//! place that reads it, filling the plain settings of the engine and the upstreams.
//!
//! Every problem is a [`ConfigError`] naming the variable, so `main` can print one
//! line and exit before it listens. Reading goes through a lookup function so the
//! rules are unit-tested without touching the process environment.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hermes_interface::catalog::{self, ModelEntry};
use hermes_interface::{env, probes};
use url::Url;

use hermes_engine::config::{EmbeddingConfig, SttConfig, TtsConfig};
use hermes_engine::models;
use hermes_upstreams::config::{
    DEFAULT_MILVUS_COLLECTION, DEFAULT_MILVUS_HOST, DEFAULT_MILVUS_PORT, DEFAULT_SOPHIA_HOST,
    DEFAULT_SOPHIA_PORT, DeliveryConfig, MilvusConfig, SophiaConfig,
};
use hermes_upstreams::secret::Secret;

pub use self::error::ConfigError;
pub use self::features::Features;
pub use self::llm::LlmConfig;
pub use self::otel::{DEFAULT_SERVICE_NAME, TracingConfig};
pub use self::protection::{DEFAULT_OPEN_PATHS, ProtectionConfig};
use crate::fault::FaultConfig;

mod delivery;
mod embedding;
mod error;
mod fault;
mod features;
mod llm;
mod otel;
mod protection;
mod stt;
mod tts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Origins allowed by CORS: `*` or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

/// The runtime's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub model_dir: PathBuf,
    /// Models to preload, in declaration order, each once (none of a disabled capability).
    pub models: Vec<&'static ModelEntry>,
    /// Installed models left out by default because this build cannot serve their task.
    pub skipped_models: Vec<&'static ModelEntry>,
    pub cors_origins: CorsOrigins,
    pub log_format: LogFormat,
    pub shutdown_grace: Duration,
    pub revision: Option<String>,
    /// Testing aid (`HERMES_TEST_LOAD_DELAY_MS`): wait before loading models.
    pub test_load_delay: Duration,
    pub milvus: MilvusConfig,
    pub sophia: SophiaConfig,
    pub llm: LlmConfig,
    /// API keys, input and rate limits, connection timeouts.
    pub protection: ProtectionConfig,
    pub tts: TtsConfig,
    pub stt: SttConfig,
    /// Batching, threads and cache of the embedding models.
    pub embedding: EmbeddingConfig,
    /// Outbox and dependency timeouts.
    pub delivery: DeliveryConfig,
    /// Testing aid, off by default (`HERMES_FAULT_*`).
    pub fault: FaultConfig,
    /// OpenTelemetry export (`OTEL_*`), off by default.
    pub tracing: TracingConfig,
    /// Capabilities and deliveries turned off (`HERMES_FEATURES_DISABLED`).
    pub features: Features,
}

pub const DEFAULT_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const DEFAULT_MODEL_DIR: &str = "models";
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: f64 = 10.0;
const MAX_SHUTDOWN_GRACE_SECONDS: f64 = 3600.0;
const MAX_TEST_LOAD_DELAY_MS: u64 = 600_000;

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads and validates variables through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let host = match get(env::HOST) {
            None => DEFAULT_HOST,
            Some(v) => parse_host(&v).map_err(|p| ConfigError::new(env::HOST, p))?,
        };
        let port = match get(env::PORT) {
            None => probes::HTTP_PORT,
            Some(v) => parse_port(&v).map_err(|p| ConfigError::new(env::PORT, p))?,
        };
        let model_dir =
            PathBuf::from(get(env::MODEL_DIR).unwrap_or_else(|| DEFAULT_MODEL_DIR.into()));
        let features = match get(env::FEATURES_DISABLED) {
            None => Features::default(),
            Some(v) => {
                Features::parse(&v).map_err(|p| ConfigError::new(env::FEATURES_DISABLED, p))?
            }
        };
        let (mut models, skipped_models) = select_models(&model_dir, get(env::MODELS).as_deref())?;
        // A disabled capability's models are not loaded (no memory, no load time).
        models.retain(|m| features.task_on(m.task));
        let cors_origins = match get(env::CORS_ORIGINS) {
            None => CorsOrigins::Any,
            Some(v) => parse_cors(&v).map_err(|p| ConfigError::new(env::CORS_ORIGINS, p))?,
        };
        let log_format = match get(env::LOG_FORMAT)
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError::new(
                    env::LOG_FORMAT,
                    format!("invalid value {other:?}: expected \"json\" or \"text\""),
                ));
            }
        };
        let shutdown_grace = match get(env::SHUTDOWN_GRACE_SECONDS) {
            None => Duration::from_secs_f64(DEFAULT_SHUTDOWN_GRACE_SECONDS),
            Some(v) => {
                parse_seconds(&v).map_err(|p| ConfigError::new(env::SHUTDOWN_GRACE_SECONDS, p))?
            }
        };
        let test_load_delay = match get(env::TEST_LOAD_DELAY_MS) {
            None => Duration::ZERO,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms <= MAX_TEST_LOAD_DELAY_MS => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::new(
                        env::TEST_LOAD_DELAY_MS,
                        format!(
                            "invalid value {v:?}: expected milliseconds in 0..={MAX_TEST_LOAD_DELAY_MS}"
                        ),
                    ));
                }
            },
        };

        let milvus = MilvusConfig {
            host: get(env::MILVUS_HOST).unwrap_or_else(|| DEFAULT_MILVUS_HOST.into()),
            port: match get(env::MILVUS_PORT) {
                None => DEFAULT_MILVUS_PORT,
                Some(v) => parse_port(&v).map_err(|p| ConfigError::new(env::MILVUS_PORT, p))?,
            },
            collection: match get(env::MILVUS_COLLECTION_NAME) {
                None => DEFAULT_MILVUS_COLLECTION.into(),
                Some(v) => check_collection_name(&v)
                    .map_err(|p| ConfigError::new(env::MILVUS_COLLECTION_NAME, p))?,
            },
            user: get(env::MILVUS_USER),
            password: get(env::MILVUS_PASSWORD).map(Secret::new),
        };
        if milvus.password.is_some() && milvus.user.is_none() {
            return Err(ConfigError::new(
                env::MILVUS_PASSWORD,
                format!("is set but {} is not", env::MILVUS_USER),
            ));
        }

        let sophia_url = match get(env::SOPHIA_URL) {
            Some(v) => parse_http_url(&v).map_err(|p| ConfigError::new(env::SOPHIA_URL, p))?,
            None => {
                let host = get(env::SOPHIA_HOST).unwrap_or_else(|| DEFAULT_SOPHIA_HOST.into());
                let port = match get(env::SOPHIA_PORT) {
                    None => DEFAULT_SOPHIA_PORT,
                    Some(v) => parse_port(&v).map_err(|p| ConfigError::new(env::SOPHIA_PORT, p))?,
                };
                parse_http_url(&format!("http://{host}:{port}"))
                    .map_err(|p| ConfigError::new(env::SOPHIA_HOST, p))?
            }
        };
        let sophia = SophiaConfig {
            url: sophia_url,
            token: get(env::SOPHIA_API_KEY)
                .or_else(|| get(env::SOPHIA_API_TOKEN))
                .map(Secret::new),
        };

        let llm = llm::from_lookup(
            &get,
            &models,
            hermes_upstreams::outbound::DependencyTimeouts::default().llm,
        )?;

        let protection = protection::from_lookup(get)?;

        let tts = tts::from_lookup(get)?;
        let stt = stt::from_lookup(get)?;
        let embedding = EmbeddingConfig {
            ort_lib: tts.ort_lib.clone(),
            ..embedding::from_lookup(get)?
        };

        Ok(Self {
            host,
            port,
            model_dir,
            models,
            skipped_models,
            cors_origins,
            log_format,
            shutdown_grace,
            revision: get(env::REVISION),
            test_load_delay,
            milvus,
            sophia,
            llm,
            protection,
            tts,
            stt,
            embedding,
            delivery: delivery::from_lookup(get)?,
            fault: fault::from_lookup(&lookup)?,
            tracing: otel::from_lookup(get)?,
            features,
        })
    }
}

fn parse_host(v: &str) -> Result<IpAddr, String> {
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(DEFAULT_HOST);
    }
    v.parse::<IpAddr>().map_err(|_| {
        format!("invalid value {v:?}: expected an IP address such as 127.0.0.1 or 0.0.0.0")
    })
}

fn parse_port(v: &str) -> Result<u16, String> {
    v.parse::<u16>()
        .map_err(|_| format!("invalid value {v:?}: expected a port number in 0..=65535"))
}

fn parse_seconds(v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=MAX_SHUTDOWN_GRACE_SECONDS).contains(&s) => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(format!(
            "invalid value {v:?}: expected seconds in 0..={MAX_SHUTDOWN_GRACE_SECONDS}"
        )),
    }
}

pub(crate) fn parse_http_url(v: &str) -> Result<Url, String> {
    let url = Url::parse(v).map_err(|e| format!("malformed URL {v:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "malformed URL {v:?}: scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("malformed URL {v:?}: no host"));
    }
    Ok(url)
}

fn parse_cors(v: &str) -> Result<CorsOrigins, String> {
    let origins: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    if origins.contains(&"*") {
        return if origins.len() == 1 {
            Ok(CorsOrigins::Any)
        } else {
            Err("\"*\" cannot be combined with explicit origins".into())
        };
    }
    for origin in &origins {
        let url = parse_http_url(origin)?;
        if url.path() != "/" || url.query().is_some() {
            return Err(format!(
                "invalid origin {origin:?}: expected scheme://host[:port] without a path"
            ));
        }
    }
    Ok(CorsOrigins::List(
        origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect(),
    ))
}

/// Milvus collection names: a letter or `_` first, then letters, digits, `_`; 255 at most.
fn check_collection_name(v: &str) -> Result<String, String> {
    let mut chars = v.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && v.len() <= 255 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(v.to_owned())
    } else {
        Err(format!(
            "invalid collection name {v:?}: a letter or '_' first, then letters, digits or '_' (255 at most)"
        ))
    }
}

/// Picks the models to preload: the declared list, or every installed model whose
/// capability this build serves. Returns (models, installed-but-skipped).
fn select_models(
    model_dir: &Path,
    declared: Option<&str>,
) -> Result<(Vec<&'static ModelEntry>, Vec<&'static ModelEntry>), ConfigError> {
    if !model_dir.is_dir() {
        return Err(ConfigError::new(
            env::MODEL_DIR,
            format!(
                "model directory {} does not exist (run `make models`, or point {} at it)",
                model_dir.display(),
                env::MODEL_DIR
            ),
        ));
    }
    match declared {
        Some(list) => {
            let mut models: Vec<&'static ModelEntry> = Vec::new();
            for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                // An id the catalog does not know may be a ggml Whisper file the
                // user placed in the model dir (models::whisper::user_model).
                let entry = catalog::find(id)
                    .or_else(|| models::whisper::user_model(model_dir, id))
                    .ok_or_else(|| {
                        let known: Vec<&str> = catalog::CATALOG.iter().map(|m| m.id).collect();
                        ConfigError::new(
                            env::MODELS,
                            format!(
                                "unknown model id {id:?} (known: {}; or a folder holding a ggml Whisper model as {id}/{})",
                                known.join(", "),
                                models::whisper::WEIGHTS_FILE
                            ),
                        )
                    })?;
                if !models::SERVED_TASKS.contains(&entry.task) {
                    return Err(ConfigError::new(
                        env::MODELS,
                        format!(
                            "model {id:?} needs the {} capability, which this build does not serve yet (served: {})",
                            entry.task.as_str(),
                            served_tasks()
                        ),
                    ));
                }
                check_installed(model_dir, entry).map_err(|p| ConfigError::new(env::MODELS, p))?;
                if !models.contains(&entry) {
                    models.push(entry);
                }
            }
            Ok((models, Vec::new()))
        }
        None => {
            let mut models = Vec::new();
            let mut skipped = Vec::new();
            for entry in catalog::CATALOG {
                if !model_dir.join(entry.id).is_dir() {
                    continue;
                }
                if models::SERVED_TASKS.contains(&entry.task) {
                    check_installed(model_dir, entry)
                        .map_err(|p| ConfigError::new(env::MODEL_DIR, p))?;
                    models.push(entry);
                } else {
                    skipped.push(entry);
                }
            }
            Ok((models, skipped))
        }
    }
}

fn served_tasks() -> String {
    models::SERVED_TASKS
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_installed(model_dir: &Path, entry: &ModelEntry) -> Result<(), String> {
    let dir = model_dir.join(entry.id);
    for file in models::required_files(entry.task) {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(format!(
                "model {:?} is not installed: {} is missing (run `make models`)",
                entry.id,
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A model dir holding complete all-minilm-l6-v2 and en-core-web-sm layouts.
    fn fake_model_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hermes-config-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for file in models::required_files(hermes_interface::Task::Embedding) {
            let path = dir.join("all-minilm-l6-v2").join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        for file in models::required_files(hermes_interface::Task::Nlp) {
            let path = dir.join("en-core-web-sm").join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        dir
    }

    fn load(dir: &Path, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert(env::MODEL_DIR.into(), dir.display().to_string());
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_preload_installed_models_of_served_capabilities() {
        let dir = fake_model_dir("defaults");
        let config = load(&dir, &[]).unwrap();
        assert_eq!(config.host, DEFAULT_HOST);
        assert_eq!(config.port, 8080);
        let ids: Vec<&str> = config.models.iter().map(|m| m.id).collect();
        assert_eq!(ids, ["all-minilm-l6-v2", "en-core-web-sm"]);
        assert!(config.skipped_models.is_empty());
        assert_eq!(config.cors_origins, CorsOrigins::Any);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.shutdown_grace, Duration::from_secs(10));
        assert_eq!(config.milvus.port, 17530);
        assert_eq!(config.milvus.collection, "hermes_embeddings");
        assert_eq!(config.sophia.url.as_str(), "http://localhost:8001/");
        assert_eq!(config.test_load_delay, Duration::ZERO);
    }

    /// The config reads exactly the variables of the one table (`--help` prints
    /// it, the docs are generated from it); `RUST_LOG` is read by the logger.
    #[test]
    fn reads_exactly_the_variables_of_the_table() {
        let dir = fake_model_dir("table");
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let model_dir = dir.display().to_string();
        Config::from_lookup(|name| {
            asked.borrow_mut().insert(name.to_owned());
            (name == env::MODEL_DIR).then(|| model_dir.clone())
        })
        .unwrap();
        let table: std::collections::BTreeSet<String> = env::VARS
            .iter()
            .map(|v| v.name.to_owned())
            .filter(|n| n != env::RUST_LOG)
            .collect();
        assert_eq!(asked.into_inner(), table);
    }

    #[test]
    fn each_invalid_value_names_its_variable() {
        let dir = fake_model_dir("invalid");
        let cases: &[(&str, &str, &str)] = &[
            (env::PORT, "abc", "port number"),
            (env::PORT, "70000", "port number"),
            (env::HOST, "my host", "IP address"),
            (env::MODELS, "no-such-model", "unknown model id"),
            (env::MODELS, "whisper-tiny-en", "ggml-model.bin is missing"),
            (env::STT_THREADS, "0", "whole number"),
            (env::LOG_FORMAT, "xml", "json"),
            (env::SOPHIA_URL, "not a url", "malformed URL"),
            (env::SOPHIA_URL, "ftp://sophia:21", "scheme"),
            (env::LLM_BASE_URL, "http://", "malformed URL"),
            (env::MILVUS_PORT, "-1", "port number"),
            (env::SOPHIA_PORT, "x", "port number"),
            (env::MILVUS_COLLECTION_NAME, "bad-name", "collection name"),
            (env::SHUTDOWN_GRACE_SECONDS, "-3", "seconds"),
            (
                env::CORS_ORIGINS,
                "*,http://a.example",
                "cannot be combined",
            ),
            (env::CORS_ORIGINS, "a.example", "malformed URL"),
            (env::TEST_LOAD_DELAY_MS, "soon", "milliseconds"),
            (env::MILVUS_PASSWORD, "hunter2", "MILVUS_USER"),
        ];
        for (var, value, expected) in cases {
            let err = load(&dir, &[(var, value)]).unwrap_err();
            assert_eq!(err.variable, *var, "{var}={value}: {err}");
            assert!(err.to_string().contains(expected), "{var}={value}: {err}");
        }
    }

    #[test]
    fn missing_files_and_dirs_are_errors() {
        let dir = fake_model_dir("missing");
        std::fs::remove_file(dir.join("all-minilm-l6-v2/model.onnx")).unwrap();
        let err = load(&dir, &[(env::MODELS, "all-minilm-l6-v2")]).unwrap_err();
        assert_eq!(err.variable, env::MODELS);
        assert!(err.problem.contains("model.onnx is missing"), "{err}");
        let err = load(&dir, &[]).unwrap_err();
        assert_eq!(err.variable, env::MODEL_DIR);

        let err = load(Path::new("/nonexistent/hermes-models"), &[]).unwrap_err();
        assert_eq!(err.variable, env::MODEL_DIR);
        assert!(err.problem.contains("does not exist"), "{err}");
    }

    #[test]
    fn explicit_values_are_parsed() {
        let dir = fake_model_dir("explicit");
        let config = load(
            &dir,
            &[
                (env::HOST, "0.0.0.0"),
                (env::PORT, "9000"),
                (env::MODELS, " all-minilm-l6-v2 , all-minilm-l6-v2 "),
                (
                    env::CORS_ORIGINS,
                    "http://a.example, https://b.example:8443/",
                ),
                (env::LOG_FORMAT, "TEXT"),
                (env::SHUTDOWN_GRACE_SECONDS, "2.5"),
                (env::SOPHIA_URL, "https://sophia.internal:9443"),
                (env::SOPHIA_API_TOKEN, "tok"),
                (env::LLM_BASE_URL, "http://127.0.0.1:11434/v1"),
                (env::OPENAI_API_KEY, "sk-test"),
                (env::API_KEYS, "k1, k2"),
                (env::TEST_LOAD_DELAY_MS, "250"),
            ],
        )
        .unwrap();
        assert_eq!(config.host.to_string(), "0.0.0.0");
        assert_eq!(config.port, 9000);
        assert_eq!(config.models.len(), 1, "duplicates are loaded once");
        assert_eq!(
            config.cors_origins,
            CorsOrigins::List(vec![
                "http://a.example".into(),
                "https://b.example:8443".into()
            ])
        );
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.shutdown_grace, Duration::from_millis(2500));
        assert_eq!(config.sophia.url.as_str(), "https://sophia.internal:9443/");
        assert_eq!(
            config.sophia.token.as_ref().map(Secret::expose),
            Some("tok")
        );
        assert_eq!(
            config.llm.base_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:11434/v1")
        );
        assert_eq!(config.protection.api_keys.len(), 2);
        assert_eq!(config.test_load_delay, Duration::from_millis(250));
        assert!(
            !format!("{config:?}").contains("sk-test"),
            "secrets stay out of Debug"
        );
    }
}
