//! What `hermes-operator render` prints for a HermesDeployment, read back as the
//! runtime container would get it: its memory limit and its plain env values (Secret
//! references left out). Tests run the real runtime with it.

use hermes_operator::catalog::Catalog;
use hermes_operator::quantity::parse_memory;
use serde_json::Value;

pub struct RenderedRuntime {
    /// `resources.limits.memory` in bytes.
    pub memory_limit: Option<u64>,
    pub env: Vec<(String, String)>,
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
        Self { memory_limit, env }
    }

    /// The value of the variable `name`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
