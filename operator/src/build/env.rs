//! The runtime container's environment, from the spec; Secrets only by reference.

use crate::crd::{HermesDeploymentSpec, LogFormat, ModelTask};
use crate::env_var::{pod_field, secret, secret_ref, value};
use hermes_interface::env;
use hermes_interface::metrics::REVISION_LABEL;
use hermes_interface::probes::HTTP_PORT;
use k8s_openapi::api::core::v1::EnvVar;

/// Where the runtime's durable outbox lives (the pod's `outbox` emptyDir is mounted here).
pub const OUTBOX_MOUNT_PATH: &str = "/var/lib/hermes/outbox";

/// Seconds the runtime drains in-flight requests after SIGTERM when the spec says nothing.
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: u32 = 20;

/// The runtime container's variables for the HermesDeployment `name`.
pub fn runtime_env(spec: &HermesDeploymentSpec, name: &str) -> Vec<EnvVar> {
    let rt = spec.runtime.clone().unwrap_or_default();
    let models: Vec<&str> = spec.models.iter().map(|m| m.name.as_str()).collect();
    let mut vars = vec![
        // The pod's IP is the only way in; the runtime's default is loopback.
        value(env::HOST, "0.0.0.0"),
        value(env::PORT, HTTP_PORT.to_string()),
        value(env::MODELS, models.join(",")),
        value(
            env::LOG_FORMAT,
            match rt.log_format.unwrap_or(LogFormat::Json) {
                LogFormat::Json => "json",
                LogFormat::Text => "text",
            },
        ),
        value(
            env::SHUTDOWN_GRACE_SECONDS,
            rt.shutdown_grace_seconds
                .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECONDS)
                .to_string(),
        ),
        // The root filesystem is read-only: the outbox lives on its own emptyDir.
        value(env::OUTBOX_DIR, OUTBOX_MOUNT_PATH),
        // From the pod's own label, so the value is not part of the hashed template.
        pod_field(
            env::REVISION,
            format!("metadata.labels['{REVISION_LABEL}']"),
        ),
    ];
    // The memory limit reserves working memory for this many transcriptions at once.
    if let Some(n) = spec
        .models
        .iter()
        .filter(|m| m.task == ModelTask::Stt)
        .find_map(|m| m.concurrency)
    {
        vars.push(value(env::STT_CONCURRENCY, n.to_string()));
    }
    if !rt.cors_origins.is_empty() {
        vars.push(value(env::CORS_ORIGINS, rt.cors_origins.join(",")));
    }
    if let Some(m) = &rt.milvus {
        vars.push(value(env::MILVUS_HOST, m.host.clone()));
        if let Some(port) = m.port {
            vars.push(value(env::MILVUS_PORT, port.to_string()));
        }
        if let Some(c) = &m.collection {
            vars.push(value(env::MILVUS_COLLECTION_NAME, c.clone()));
        }
        if let Some(c) = &m.credentials_secret {
            vars.push(secret(env::MILVUS_USER, &c.username_key, &c.name));
            vars.push(secret(env::MILVUS_PASSWORD, &c.password_key, &c.name));
        }
    }
    if let Some(s) = &rt.sophia {
        vars.push(value(env::SOPHIA_URL, s.url.clone()));
        if let Some(t) = &s.token_secret {
            vars.push(secret_ref(env::SOPHIA_API_TOKEN, t));
        }
    }
    if let Some(l) = &rt.llm {
        vars.push(value(env::LLM_PROVIDER, l.provider.clone()));
        if let Some(u) = &l.base_url {
            vars.push(value(env::LLM_BASE_URL, u.clone()));
        }
        if let Some(m) = &l.model {
            vars.push(value(env::LLM_MODEL, m.clone()));
        }
        if let Some(k) = &l.api_key_secret {
            vars.push(secret_ref(env::OPENAI_API_KEY, k));
        }
    }
    if let Some(k) = &rt.api_keys_secret {
        vars.push(secret_ref(env::API_KEYS, k));
    }
    for (name, v) in crate::runtime_protection::env_vars(&rt) {
        vars.push(value(name, v));
    }
    // Last: its `$(VAR)` references need HERMES_REVISION (above) and its own variables.
    if let Some(t) = &rt.tracing {
        vars.extend(crate::runtime_tracing::env_vars(
            t,
            name,
            super::canary::TRACK,
        ));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var<'a>(vars: &'a [EnvVar], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|v| v.name == name)
            .and_then(|v| v.value.as_deref())
    }

    #[test]
    fn an_stt_concurrency_reaches_the_runtime() {
        let mut spec: HermesDeploymentSpec = serde_json::from_value(serde_json::json!({
            "image": "hermes-runtime:test",
            "models": [{"name": "whisper-tiny-en", "task": "stt"}],
        }))
        .expect("spec");
        assert_eq!(
            var(&runtime_env(&spec, "t"), env::STT_CONCURRENCY),
            None,
            "the runtime's default (1) is the catalog's"
        );
        spec.models[0].concurrency = Some(3);
        assert_eq!(
            var(&runtime_env(&spec, "t"), env::STT_CONCURRENCY),
            Some("3")
        );
    }

    #[test]
    fn every_reference_is_defined_before_the_variable_that_uses_it() {
        let s: HermesDeploymentSpec = serde_json::from_value(serde_json::json!({
            "image": "i:1",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
            "runtime": {"tracing": {"otlpEndpoint": "http://otel:4318"}},
        }))
        .expect("spec");
        let vars = runtime_env(&s, "search");
        let attributes = vars
            .iter()
            .position(|v| v.name == crate::runtime_tracing::RESOURCE_ATTRIBUTES)
            .expect("OTEL_RESOURCE_ATTRIBUTES");
        let value = vars[attributes].value.as_deref().unwrap_or_default();
        for reference in value.split("$(").skip(1) {
            let name = reference.split(')').next().unwrap_or_default();
            assert!(
                vars[..attributes].iter().any(|v| v.name == name),
                "$({name}) is not defined before OTEL_RESOURCE_ATTRIBUTES"
            );
        }
        assert_eq!(value.matches("$(").count(), 4, "{value}");
    }

    #[test]
    fn without_tracing_no_otel_variable_is_rendered() {
        let s: HermesDeploymentSpec = serde_json::from_value(serde_json::json!({
            "image": "i:1",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
        }))
        .expect("spec");
        let vars = runtime_env(&s, "search");
        let otel: Vec<&str> = vars
            .iter()
            .map(|v| v.name.as_str())
            .filter(|n| n.starts_with("OTEL_") || n.starts_with("POD_"))
            .collect();
        assert!(otel.is_empty(), "{otel:?}");
    }
}
