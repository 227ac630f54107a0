//! The desired objects of a HermesDeployment (pure: no client, no clock).

pub mod canary;
pub mod deployment;
pub mod env;
pub mod labels;
pub mod pdb;
pub mod probes;
pub mod service;

use crate::catalog::Catalog;
use crate::crd::HermesDeployment;
use crate::sizing::MemoryPlan;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};

/// Everything the operator applies for one HermesDeployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub deployment: Deployment,
    pub service: Service,
    /// Only when replicas > 1; otherwise an existing one is deleted.
    pub pdb: Option<PodDisruptionBudget>,
    /// Hash of the pod template.
    pub revision: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("the HermesDeployment has no {0}")]
    MissingMetadata(&'static str),
}

/// Builds the objects for `hd` with the memory of `plan`.
pub fn desired(
    hd: &HermesDeployment,
    plan: &MemoryPlan,
    catalog: &Catalog,
) -> Result<Desired, BuildError> {
    let name = hd
        .metadata
        .name
        .clone()
        .ok_or(BuildError::MissingMetadata("name"))?;
    let namespace = hd
        .namespace()
        .ok_or(BuildError::MissingMetadata("namespace"))?;
    let owner = owner_reference(hd);
    let meta = |labels| ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        labels: Some(labels),
        owner_references: owner.clone().map(|o| vec![o]),
        ..Default::default()
    };
    let (deployment, revision) = deployment::build(hd, &name, plan, catalog, &meta);
    let service = service::build(&name, &meta);
    let pdb = (hd.spec.replicas > 1).then(|| pdb::build(&name, &meta));
    Ok(Desired {
        deployment,
        service,
        pdb,
        revision,
    })
}

/// Owner reference making the objects garbage with the HermesDeployment. A resource read
/// from a file (`render`) has no uid yet and gets none.
fn owner_reference(hd: &HermesDeployment) -> Option<OwnerReference> {
    hd.meta().uid.as_ref()?;
    hd.controller_owner_ref(&())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing;

    fn hd(spec: serde_json::Value) -> HermesDeployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": "h", "namespace": "ns", "uid": "u-1"},
            "spec": spec,
        }))
        .expect("hd")
    }

    fn build(spec: serde_json::Value) -> Desired {
        let catalog = Catalog::builtin();
        let hd = hd(spec);
        let plan = sizing::plan(&hd.spec, &catalog).expect("plan");
        desired(&hd, &plan, &catalog).expect("desired")
    }

    fn base() -> serde_json::Value {
        serde_json::json!({"image": "i:1", "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}]})
    }

    #[test]
    fn revision_follows_the_pod_template_not_the_replica_count() {
        let one = build(base());
        let mut scaled = base();
        scaled["replicas"] = serde_json::json!(3);
        assert_eq!(
            build(scaled).revision,
            one.revision,
            "scaling is not a new revision"
        );
        let mut more_models = base();
        more_models["models"]
            .as_array_mut()
            .expect("models")
            .push(serde_json::json!({"name": "en-core-web-sm", "task": "nlp"}));
        assert_ne!(build(more_models).revision, one.revision);
        let mut new_image = base();
        new_image["image"] = serde_json::json!("i:2");
        assert_ne!(build(new_image).revision, one.revision);
    }

    #[test]
    fn operator_labels_win_and_owner_reference_is_set() {
        let mut spec = base();
        spec["pod"] =
            serde_json::json!({"labels": {"app.kubernetes.io/name": "evil", "team": "x"}});
        let d = build(spec);
        let labels = d
            .deployment
            .spec
            .template
            .metadata
            .and_then(|m| m.labels)
            .expect("labels");
        assert_eq!(labels.get(labels::NAME).map(String::as_str), Some("hermes"));
        assert_eq!(labels.get("team").map(String::as_str), Some("x"));
        assert_eq!(labels.get(labels::REVISION), Some(&d.revision));
        let owner = &d.service.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("HermesDeployment", "u-1")
        );
        assert_eq!(owner.controller, Some(true));
        assert!(d.pdb.is_none(), "one replica, no PDB");
    }
}
