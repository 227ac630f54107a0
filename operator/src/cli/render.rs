//! `hermes-operator render`: the pure stages offline. Reads HermesDeployment YAML and
//! returns every object the operator would apply, preceded by the memory calculation as
//! YAML comments, so a user can check a resource before applying it.

use crate::build;
use crate::catalog::Catalog;
use crate::crd::HermesDeployment;
use crate::sizing::{self, SizingError};
use crate::validate::{self, InvalidSpec, MissingMetadata};
use kube::ResourceExt;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not YAML: {0}")]
    Yaml(String),
    #[error("document {index}: {message}")]
    NotAHermesDeployment { index: usize, message: String },
    #[error("{name}: unknown field(s) {fields}")]
    UnknownFields { name: String, fields: String },
    #[error("{name}: invalid spec: {source}")]
    Invalid {
        name: String,
        #[source]
        source: InvalidSpec,
    },
    #[error("{name}: {source}")]
    Sizing {
        name: String,
        #[source]
        source: SizingError,
    },
    #[error("{name}: {source}")]
    Metadata {
        name: String,
        #[source]
        source: MissingMetadata,
    },
    #[error("serializing {what}: {message}")]
    Serialize { what: String, message: String },
    #[error("no HermesDeployment in the input")]
    Empty,
}

/// Renders every HermesDeployment of `yaml`; a document without a namespace lands in
/// `default_namespace`, as kubectl would put it.
pub fn render(
    yaml: &str,
    default_namespace: &str,
    catalog: &Catalog,
) -> Result<String, RenderError> {
    let mut out = String::new();
    for hd in parse_all(yaml, default_namespace)? {
        out.push_str(&render_one(&hd, catalog)?);
    }
    Ok(out)
}

/// Every HermesDeployment of `yaml` (at least one), strictly parsed (unknown fields are
/// errors), with `default_namespace` where a document names none.
pub fn parse_all(
    yaml: &str,
    default_namespace: &str,
) -> Result<Vec<HermesDeployment>, RenderError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| RenderError::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let mut hd = parse(index, &doc)?;
        if hd.metadata.namespace.is_none() {
            hd.metadata.namespace = Some(default_namespace.into());
        }
        out.push(hd);
    }
    if out.is_empty() {
        return Err(RenderError::Empty);
    }
    Ok(out)
}

fn parse(index: usize, doc: &Value) -> Result<HermesDeployment, RenderError> {
    let not_hd = |message: String| RenderError::NotAHermesDeployment { index, message };
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "HermesDeployment" || api_version != "hermes.logos.dev/v1alpha1" {
        return Err(not_hd(format!(
            "expected apiVersion hermes.logos.dev/v1alpha1, kind HermesDeployment; got {api_version:?}, {kind:?}"
        )));
    }
    let hd: HermesDeployment =
        serde_json::from_value(doc.clone()).map_err(|e| not_hd(e.to_string()))?;
    // Like `kubectl apply` (strict field validation): a misspelt field is an error, not
    // silently dropped.
    let back = serde_json::to_value(&hd).map_err(|e| not_hd(e.to_string()))?;
    let mut unknown = Vec::new();
    unknown_fields("", doc, &back, &mut unknown);
    unknown.retain(|f| !f.starts_with("metadata.") && f != "status");
    if !unknown.is_empty() {
        return Err(RenderError::UnknownFields {
            name: hd.name_any(),
            fields: unknown.join(", "),
        });
    }
    Ok(hd)
}

/// Paths set (non-empty) in `input` that the typed round trip `back` lost.
fn unknown_fields(path: &str, input: &Value, back: &Value, out: &mut Vec<String>) {
    let is_empty = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match (input, back) {
        (Value::Object(i), Value::Object(b)) => {
            for (k, v) in i {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => unknown_fields(&p, v, bv, out),
                    None if !is_empty(v) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(i), Value::Array(b)) => {
            for (n, (iv, bv)) in i.iter().zip(b).enumerate() {
                unknown_fields(&format!("{path}[{n}]"), iv, bv, out);
            }
        }
        _ => {}
    }
}

fn to_yaml<T: serde::Serialize>(what: &str, value: &T) -> Result<String, RenderError> {
    serde_saphyr::to_string(value).map_err(|e| RenderError::Serialize {
        what: what.into(),
        message: e.to_string(),
    })
}

fn render_one(hd: &HermesDeployment, catalog: &Catalog) -> Result<String, RenderError> {
    let name = format!("{}/{}", hd.namespace().unwrap_or_default(), hd.name_any());
    let id = validate::identity(hd).map_err(|source| RenderError::Metadata {
        name: name.clone(),
        source,
    })?;
    let v = validate::validate(id, &hd.spec, catalog).map_err(|source| RenderError::Invalid {
        name: name.clone(),
        source,
    })?;
    let plan = sizing::plan(&v, catalog).map_err(|source| RenderError::Sizing {
        name: name.clone(),
        source,
    })?;
    let desired = build::desired(&v, &plan, catalog);
    let mut out = format!(
        "# HermesDeployment {name}: revision {}\n# memory = runtime overhead + models + headroom, rounded up to 64 MiB:\n",
        desired.revision
    );
    for line in plan.explain() {
        out.push_str(&format!("#   {line}\n"));
    }
    out.push_str(&format!(
        "# startup probe budget: {} s (from the models' load times)\n",
        build::probes::startup_budget_seconds(v.spec, catalog)
    ));
    if hd.metadata.uid.is_none() {
        out.push_str("# ownerReferences are added when the operator applies these (the resource has no uid yet)\n");
    }
    let mut docs = vec![
        to_yaml("Deployment", &desired.deployment)?,
        to_yaml("Service", &desired.service)?,
    ];
    if let Some(pdb) = &desired.pdb {
        docs.push(to_yaml("PodDisruptionBudget", pdb)?);
    }
    if let Some(hpa) = &desired.hpa {
        docs.push(to_yaml("HorizontalPodAutoscaler", hpa)?);
    }
    for d in docs {
        out.push_str("---\n");
        out.push_str(&d);
        if !d.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "apiVersion: hermes.logos.dev/v1alpha1\nkind: HermesDeployment\nmetadata:\n  name: t\nspec:\n  image: hermes-runtime:1\n  models:\n  - name: all-minilm-l6-v2\n    task: embedding\n";

    #[test]
    fn renders_deployment_and_service_with_the_calculation() {
        let out = render(MINIMAL, "ns", &Catalog::builtin()).expect("render");
        assert!(
            out.starts_with("# HermesDeployment ns/t: revision "),
            "{out}"
        );
        assert!(out.contains("#   limit "), "{out}");
        assert!(out.contains("kind: Deployment"));
        assert!(out.contains("kind: Service"));
        assert!(
            !out.contains("kind: PodDisruptionBudget"),
            "one replica needs no PDB"
        );
    }

    #[test]
    fn misspelt_field_is_an_error() {
        let yaml = MINIMAL.replace("  image:", "  replicaz: 2\n  image:");
        let err = render(&yaml, "ns", &Catalog::builtin()).expect_err("unknown field");
        assert_eq!(err.to_string(), "t: unknown field(s) spec.replicaz");
    }

    #[test]
    fn invalid_spec_says_why() {
        let yaml = MINIMAL.replace("task: embedding", "task: stt");
        let err = render(&yaml, "ns", &Catalog::builtin()).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "ns/t: invalid spec: models[0]: model \"all-minilm-l6-v2\" serves task embedding, not stt"
        );
    }

    #[test]
    fn a_custom_query_that_is_not_promql_is_refused() {
        let yaml = format!(
            "{MINIMAL}  rollout:\n    canary: {{}}\n    analysis:\n      metrics:\n      - name: p50-typo\n        query: 'histogram_quantile(0.5, rate(x[{{{{interval}}}}])'\n        max: 1\n"
        );
        let err = render(&yaml, "ns", &Catalog::builtin()).expect_err("invalid");
        assert!(
            err.to_string().starts_with(
                "ns/t: invalid spec: rollout.analysis.metrics[0] (p50-typo): query is not valid PromQL: "
            ),
            "{err}"
        );
    }

    #[test]
    fn other_kinds_are_refused() {
        let err = render(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            "ns",
            &Catalog::builtin(),
        )
        .expect_err("kind");
        assert!(
            err.to_string()
                .starts_with("document 0: expected apiVersion"),
            "{err}"
        );
        assert!(matches!(
            render("", "ns", &Catalog::builtin()),
            Err(RenderError::Empty)
        ));
    }
}
