//! What `hermes-operator render` prints for a HermesDeployment, read back as the
//! runtime container would get it: its memory limit and its plain env values (Secret
//! references left out), or its whole environment as a kubelet resolves it for one pod
//! (downward API, Secrets, `$(VAR)` expansion). Tests run the real runtime with it.

use hermes_operator::catalog::Catalog;
use hermes_operator::quantity::parse_memory;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::EnvVar;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct RenderedRuntime {
    /// `resources.limits.memory` in bytes.
    pub memory_limit: Option<u64>,
    pub env: Vec<(String, String)>,
    /// The rendered Deployment, as the operator would apply it.
    pub deployment: Deployment,
}

impl RenderedRuntime {
    /// Renders `yaml` in `namespace` with the built-in catalog (panics on a render error:
    /// the tests' resources are valid).
    pub fn of(yaml: &str, namespace: &str) -> Self {
        let out = hermes_operator::cli::render::render(yaml, namespace, &Catalog::builtin())
            .expect("render");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&out).expect("rendered YAML");
        let deployment = docs
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .expect("a Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let memory_limit = container["resources"]["limits"]["memory"]
            .as_str()
            .and_then(|q| parse_memory(q).ok());
        let env = container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                Some((
                    v["name"].as_str()?.to_owned(),
                    v["value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let deployment = serde_json::from_value(deployment.clone()).expect("a Deployment");
        Self {
            memory_limit,
            env,
            deployment,
        }
    }

    /// The value of the variable `name`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The canary Deployment the operator's canary stage makes of this one.
    pub fn canary_deployment(&self) -> Deployment {
        let base = self.deployment.metadata.name.clone().unwrap_or_default();
        hermes_operator::build::canary::deployment(&self.deployment, &base, 1)
    }
}

/// The runtime container's environment as the kubelet gives it to the pod `pod_name` of
/// `deployment`: `fieldRef`s read the pod (its name, namespace, template labels; an
/// absent label is ""), `secretKeyRef`s read `secrets` (`(secret, key, value)`; a missing
/// one panics, as the kubelet refuses to start the container), and `$(VAR)` in a value
/// is expanded from the variables before it.
pub fn kubelet_env(
    deployment: &Deployment,
    pod_name: &str,
    secrets: &[(&str, &str, &str)],
) -> Vec<(String, String)> {
    let template = &deployment.spec.template;
    let labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let vars: &[EnvVar] = template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.env.as_deref())
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for var in vars {
        let from = var.value_from.as_ref();
        let value = if let Some(v) = &var.value {
            expand(v, &out)
        } else if let Some(f) = from.and_then(|f| f.field_ref.as_ref()) {
            let path = f.field_path.as_str();
            match path {
                "metadata.name" => pod_name.to_owned(),
                "metadata.namespace" => namespace.clone(),
                _ => {
                    let label = path
                        .strip_prefix("metadata.labels['")
                        .and_then(|l| l.strip_suffix("']"))
                        .unwrap_or_else(|| panic!("unsupported fieldRef {path}"));
                    labels.get(label).cloned().unwrap_or_default()
                }
            }
        } else if let Some(s) = from.and_then(|f| f.secret_key_ref.as_ref()) {
            secrets
                .iter()
                .find(|(name, key, _)| *name == s.name && *key == s.key)
                .map(|(_, _, v)| (*v).to_owned())
                .unwrap_or_else(|| panic!("Secret {}/{} missing", s.name, s.key))
        } else {
            panic!("unsupported env source of {}", var.name)
        };
        out.push((var.name.clone(), value));
    }
    out
}

/// The kubelet's expansion: `$(NAME)` of a variable defined before is its value, of
/// another stays as written; `$$` is `$`.
pub fn expand(input: &str, defined: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some((name, r)) = after.strip_prefix('(').and_then(|r| r.split_once(')')) {
            match defined.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = r;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_as_the_kubelet_does_it() {
        let defined = vec![
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "x,y".to_string()),
        ];
        assert_eq!(expand("a=$(A),b=$(B)", &defined), "a=1,b=x,y");
        assert_eq!(expand("$(C) $$(A) $ $(A", &defined), "$(C) $(A) $ $(A");
    }
}
