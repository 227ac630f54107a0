//! The Service in front of the runtime pods.

use super::labels;
use hermes_interface::probes::{HTTP_PORT, HTTP_PORT_NAME};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

pub fn build(name: &str, meta: &dyn Fn(BTreeMap<String, String>) -> ObjectMeta) -> Service {
    let mut common = labels::selector(name);
    common.insert(labels::COMPONENT.into(), "runtime".into());
    common.insert(labels::MANAGED_BY.into(), labels::MANAGER.into());
    Service {
        metadata: meta(common),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels::selector(name)),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: i32::from(HTTP_PORT),
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}
