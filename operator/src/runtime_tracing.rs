//! `spec.runtime.tracing`, pure: its check and the `OTEL_*` variables it becomes. The
//! runtime's OpenTelemetry SDK reads them; without the field none is rendered (tracing
//! stays off). The resource attributes name the pod through the downward API: the pod's
//! namespace and name, its revision (`hermes.revision`, the pod template's hash) and its
//! track (`hermes.track`: `canary` on canary pods, empty on the stable's), filled in by
//! the kubelet's `$(VAR)` expansion of variables rendered before them.

use crate::crd::{HermesDeploymentSpec, TracingSettings};
use crate::env_var::{pod_field, secret_ref, value};
use hermes_interface::env;
use k8s_openapi::api::core::v1::EnvVar;

/// Read by the runtime's OpenTelemetry SDK itself, not by its config (so not in
/// `hermes_interface::env::VARS`): headers of every export (`k=v,k2=v2`, e.g. an auth
/// header) and extra resource attributes of every span (`k=v,k2=v2`).
pub const OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// The pod's own namespace, name and track label, for `OTEL_RESOURCE_ATTRIBUTES` (the
/// runtime does not read them).
pub const POD_NAMESPACE: &str = "POD_NAMESPACE";
pub const POD_NAME: &str = "POD_NAME";
pub const POD_TRACK: &str = "POD_TRACK";

/// Resource attribute of the pod template's hash (the `hermes.logos.dev/revision` label).
pub const REVISION_ATTRIBUTE: &str = "hermes.revision";
/// Resource attribute of the pod's track: `canary`, or empty for the stable revision.
pub const TRACK_ATTRIBUTE: &str = "hermes.track";

/// Problems of the field beyond its URL (`validate.rs` checks the URLs); nothing when it
/// is unset.
pub fn check(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(t) = spec.runtime.as_ref().and_then(|rt| rt.tracing.as_ref()) else {
        return;
    };
    if t.service_name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        problems.push("runtime.tracing.serviceName must not be empty".into());
    }
    if let Some(h) = &t.headers_secret
        && (h.name.trim().is_empty() || h.key.trim().is_empty())
    {
        problems.push("runtime.tracing.headersSecret needs a name and a key".into());
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES` as rendered: `$(VAR)` references the kubelet expands.
pub fn resource_attributes() -> String {
    [
        ("k8s.namespace.name", POD_NAMESPACE),
        ("k8s.pod.name", POD_NAME),
        (REVISION_ATTRIBUTE, env::REVISION),
        (TRACK_ATTRIBUTE, POD_TRACK),
    ]
    .iter()
    .map(|(attribute, var)| format!("{attribute}=$({var})"))
    .collect::<Vec<_>>()
    .join(",")
}

/// The variables of `tracing` for a HermesDeployment named `name` whose canary pods carry
/// the label `track_label`, in the order the kubelet needs (a variable before the
/// `$(VAR)` that uses it); `HERMES_REVISION` is rendered before all of them.
pub fn env_vars(tracing: &TracingSettings, name: &str, track_label: &str) -> Vec<EnvVar> {
    let mut vars = vec![
        value(
            env::OTEL_EXPORTER_OTLP_ENDPOINT,
            tracing.otlp_endpoint.clone(),
        ),
        value(
            env::OTEL_SERVICE_NAME,
            tracing.service_name.clone().unwrap_or_else(|| name.into()),
        ),
    ];
    if let Some(h) = &tracing.headers_secret {
        vars.push(secret_ref(OTLP_HEADERS, h));
    }
    vars.push(pod_field(POD_NAMESPACE, "metadata.namespace"));
    vars.push(pod_field(POD_NAME, "metadata.name"));
    // An absent label reads as "": stable pods have no track label.
    vars.push(pod_field(
        POD_TRACK,
        format!("metadata.labels['{track_label}']"),
    ));
    vars.push(value(RESOURCE_ATTRIBUTES, resource_attributes()));
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tracing: serde_json::Value) -> HermesDeploymentSpec {
        serde_json::from_value(serde_json::json!({
            "image": "i:1",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
            "runtime": {"tracing": tracing},
        }))
        .expect("spec")
    }

    fn tracing(s: &HermesDeploymentSpec) -> &TracingSettings {
        s.runtime
            .as_ref()
            .and_then(|r| r.tracing.as_ref())
            .expect("tracing")
    }

    fn problems(s: &HermesDeploymentSpec) -> Vec<String> {
        let mut problems = Vec::new();
        check(s, &mut problems);
        problems
    }

    /// `(name, value or the source it comes from)`.
    fn shown(vars: &[EnvVar]) -> Vec<(String, String)> {
        vars.iter()
            .map(|v| {
                let from = v.value_from.as_ref();
                let source = v.value.clone().unwrap_or_else(|| {
                    match (
                        from.and_then(|f| f.field_ref.as_ref()),
                        from.and_then(|f| f.secret_key_ref.as_ref()),
                    ) {
                        (Some(f), _) => format!("field {}", f.field_path),
                        (_, Some(s)) => format!("secret {}/{}", s.name, s.key),
                        _ => "nothing".into(),
                    }
                });
                (v.name.clone(), source)
            })
            .collect()
    }

    #[test]
    fn the_endpoint_and_the_pod_s_identity_become_otel_variables() {
        let s = spec(serde_json::json!({"otlpEndpoint": "http://otel.observability:4318"}));
        assert!(problems(&s).is_empty(), "{:?}", problems(&s));
        let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            shown(&env_vars(tracing(&s), "search", "hermes.logos.dev/track")),
            want(&[
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "http://otel.observability:4318"
                ),
                ("OTEL_SERVICE_NAME", "search"),
                ("POD_NAMESPACE", "field metadata.namespace"),
                ("POD_NAME", "field metadata.name"),
                (
                    "POD_TRACK",
                    "field metadata.labels['hermes.logos.dev/track']"
                ),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME),\
                     hermes.revision=$(HERMES_REVISION),hermes.track=$(POD_TRACK)"
                ),
            ])
        );
    }

    #[test]
    fn a_service_name_and_a_headers_secret_are_rendered_the_secret_by_reference() {
        let s = spec(serde_json::json!({
            "otlpEndpoint": "https://collector.example:4318/otlp",
            "serviceName": "hermes-eu",
            "headersSecret": {"name": "otel-auth", "key": "headers"},
        }));
        assert!(problems(&s).is_empty(), "{:?}", problems(&s));
        let vars = shown(&env_vars(tracing(&s), "search", "hermes.logos.dev/track"));
        assert_eq!(
            vars[..3],
            [
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT".to_string(),
                    "https://collector.example:4318/otlp".to_string()
                ),
                ("OTEL_SERVICE_NAME".into(), "hermes-eu".into()),
                (
                    "OTEL_EXPORTER_OTLP_HEADERS".into(),
                    "secret otel-auth/headers".into()
                ),
            ]
        );
    }

    #[test]
    fn an_empty_service_name_is_refused() {
        let s = spec(serde_json::json!({"otlpEndpoint": "http://otel:4318", "serviceName": " "}));
        assert_eq!(
            problems(&s),
            vec!["runtime.tracing.serviceName must not be empty".to_string()]
        );
    }
}
