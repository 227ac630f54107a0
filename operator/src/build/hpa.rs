//! The HorizontalPodAutoscaler (autoscaling/v2) of a HermesDeployment with
//! `spec.autoscaling`: it scales the stable Deployment `<name>` (never the canary, which
//! the operator sizes from the stable's count) on CPU utilisation and/or the runtime's
//! in-flight requests per pod.

use super::labels;
use crate::crd::AutoscalingSpec;
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
    MetricIdentifier, MetricSpec, MetricTarget, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// The runtime's gauge of requests in flight; an adapter serves it as a `Pods` metric.
pub const IN_FLIGHT_METRIC: &str = hermes_interface::metrics::HTTP_IN_FLIGHT_REQUESTS;

pub fn build(
    name: &str,
    spec: &AutoscalingSpec,
    meta: &dyn Fn(BTreeMap<String, String>) -> ObjectMeta,
) -> HorizontalPodAutoscaler {
    let mut common = labels::selector(name);
    common.insert(labels::COMPONENT.into(), "runtime".into());
    common.insert(labels::MANAGED_BY.into(), labels::MANAGER.into());
    let mut metrics = Vec::new();
    if let Some(percent) = spec.target_cpu_utilization_percent {
        metrics.push(MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(percent),
                    ..Default::default()
                },
            }),
            ..Default::default()
        });
    }
    if let Some(per_pod) = spec.target_in_flight_per_pod {
        metrics.push(MetricSpec {
            type_: "Pods".into(),
            pods: Some(PodsMetricSource {
                metric: MetricIdentifier {
                    name: IN_FLIGHT_METRIC.into(),
                    selector: None,
                },
                target: MetricTarget {
                    type_: "AverageValue".into(),
                    average_value: Some(Quantity(per_pod.to_string())),
                    ..Default::default()
                },
            }),
            ..Default::default()
        });
    }
    HorizontalPodAutoscaler {
        metadata: meta(common),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: name.into(),
            },
            min_replicas: Some(spec.min_replicas),
            max_replicas: spec.max_replicas,
            metrics: Some(metrics),
            behavior: None,
        },
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(labels: BTreeMap<String, String>) -> ObjectMeta {
        ObjectMeta {
            name: Some("chat".into()),
            namespace: Some("prod".into()),
            labels: Some(labels),
            ..Default::default()
        }
    }

    #[test]
    fn it_scales_the_stable_deployment_on_each_target_given() {
        let spec: AutoscalingSpec = serde_json::from_value(serde_json::json!({
            "minReplicas": 2, "maxReplicas": 10,
            "targetCPUUtilizationPercent": 70, "targetInFlightPerPod": 4,
        }))
        .expect("spec");
        let hpa = serde_json::to_value(build("chat", &spec, &meta)).expect("json");
        assert_eq!(
            hpa["spec"],
            serde_json::json!({
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                    {"type": "Pods", "pods": {"metric": {"name": "hermes_http_in_flight_requests"}, "target": {"type": "AverageValue", "averageValue": "4"}}},
                ],
            })
        );
        assert_eq!(
            hpa["metadata"]["labels"][labels::MANAGED_BY],
            labels::MANAGER
        );
        let cpu_only: AutoscalingSpec = serde_json::from_value(
            serde_json::json!({"maxReplicas": 3, "targetCPUUtilizationPercent": 50}),
        )
        .expect("spec");
        let hpa = build("chat", &cpu_only, &meta);
        let metrics = hpa.spec.metrics.unwrap_or_default();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].type_, "Resource");
    }
}
