//! The desired objects of a HermesDeployment (pure: no client, no clock).

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
