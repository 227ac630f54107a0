//! The PodDisruptionBudget of a multi-replica HermesDeployment: voluntary disruptions
//! (node drains) take at most one runtime pod at a time.

use super::labels;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

pub fn build(
    name: &str,
    meta: &dyn Fn(BTreeMap<String, String>) -> ObjectMeta,
) -> PodDisruptionBudget {
    let mut common = labels::selector(name);
    common.insert(labels::COMPONENT.into(), "runtime".into());
    common.insert(labels::MANAGED_BY.into(), labels::MANAGER.into());
    PodDisruptionBudget {
        metadata: meta(common),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(labels::selector(name)),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        status: None,
    }
}
