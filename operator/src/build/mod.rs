//! The desired objects of a HermesDeployment (pure: no client, no clock).

pub mod canary;
pub mod deployment;
pub mod env;
pub mod hpa;
pub mod labels;
pub mod pdb;
pub mod probes;
pub mod service;

use crate::catalog::Catalog;
use crate::sizing::MemoryPlan;
use crate::validate::Validated;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Everything the operator applies for one HermesDeployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub deployment: Deployment,
    pub service: Service,
    /// Only when replicas > 1; otherwise an existing one is deleted.
    pub pdb: Option<PodDisruptionBudget>,
    /// Only with `spec.autoscaling`; otherwise an existing one is deleted.
    pub hpa: Option<HorizontalPodAutoscaler>,
    /// Hash of the pod template.
    pub revision: String,
}

/// Builds the objects of `v` with the memory of `plan`.
pub fn desired(v: &Validated<'_>, plan: &MemoryPlan, catalog: &Catalog) -> Desired {
    let name = &v.id.name;
    let meta = |labels| ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(v.id.namespace.clone()),
        labels: Some(labels),
        owner_references: v.id.owner.clone().map(|o| vec![o]),
        ..Default::default()
    };
    let (deployment, revision) = deployment::build(v.spec, v.replicas, name, plan, catalog, &meta);
    let service = service::build(name, &meta);
    // With an autoscaler the count moves: a PDB as soon as it may exceed one pod.
    let many = v
        .spec
        .autoscaling
        .as_ref()
        .map_or(v.replicas, |a| a.max_replicas)
        > 1;
    let pdb = many.then(|| pdb::build(name, &meta));
    let hpa = v
        .spec
        .autoscaling
        .as_ref()
        .map(|a| hpa::build(name, a, &meta));
    Desired {
        deployment,
        service,
        pdb,
        hpa,
        revision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::HermesDeployment;
    use crate::sizing;
    use crate::validate;

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
        let id = validate::identity(&hd).expect("identity");
        let v = validate::validate(id, &hd.spec, &catalog).expect("valid");
        let plan = sizing::plan(&v, &catalog).expect("plan");
        desired(&v, &plan, &catalog)
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
