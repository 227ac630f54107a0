//! Horizontal autoscaling (`spec.autoscaling`), pure: what it asks of the spec, and how
//! many replicas the operator applies when an autoscaler owns the count. The operator
//! never fights the autoscaler: it applies the stable Deployment's current count (the
//! autoscaler's last decision), so a server-side apply never resets it, and a canary is
//! sized from that count instead of being added on top of an inflated stable.

use crate::crd::HermesDeploymentSpec;
use crate::quantity::parse_cpu_millis;
use k8s_openapi::api::apps::v1::Deployment;

/// Problems of `spec.autoscaling` the schema cannot see.
pub fn check(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(a) = &spec.autoscaling else { return };
    if a.min_replicas < 1 {
        problems.push(format!(
            "autoscaling.minReplicas must be at least 1, got {}",
            a.min_replicas
        ));
    }
    if a.min_replicas > a.max_replicas {
        problems.push(format!(
            "autoscaling.minReplicas {} exceeds autoscaling.maxReplicas {}",
            a.min_replicas, a.max_replicas
        ));
    }
    match (a.target_cpu_utilization_percent, a.target_in_flight_per_pod) {
        (None, None) => problems
            .push("autoscaling needs targetCPUUtilizationPercent or targetInFlightPerPod".into()),
        (Some(p), _) if p < 1 => problems.push(format!(
            "autoscaling.targetCPUUtilizationPercent must be at least 1, got {p}"
        )),
        (_, Some(n)) if n < 1 => problems.push(format!(
            "autoscaling.targetInFlightPerPod must be at least 1, got {n}"
        )),
        _ => {}
    }
    let has_cpu_request = spec
        .cpu
        .as_ref()
        .and_then(|c| c.request.as_deref())
        .is_some_and(|r| parse_cpu_millis(r).is_ok_and(|m| m > 0));
    if a.target_cpu_utilization_percent.is_some() && !has_cpu_request {
        problems.push(
            "autoscaling.targetCPUUtilizationPercent needs cpu.request (utilisation is a percentage of it)"
                .into(),
        );
    }
}

/// Replicas of the stable Deployment: `spec.replicas` without autoscaling. With it, the
/// stable's current count (`observed`, as the autoscaler set it) kept within
/// `minReplicas..=maxReplicas`, or `minReplicas` before the Deployment exists.
pub fn stable_replicas(spec: &HermesDeploymentSpec, observed: Option<&Deployment>) -> i32 {
    let Some(a) = &spec.autoscaling else {
        return spec.replicas;
    };
    let (min, max) = (
        a.min_replicas.max(1),
        a.max_replicas.max(a.min_replicas.max(1)),
    );
    observed
        .and_then(|d| d.spec.replicas)
        .unwrap_or(min)
        .clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;

    fn spec(extra: serde_json::Value) -> HermesDeploymentSpec {
        let mut v = serde_json::json!({
            "image": "i:1",
            "replicas": 3,
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).expect("spec")
    }

    fn at(replicas: i32) -> Deployment {
        Deployment {
            spec: DeploymentSpec {
                replicas: Some(replicas),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn messages(s: &HermesDeploymentSpec) -> Vec<String> {
        let mut problems = Vec::new();
        check(s, &mut problems);
        problems
    }

    #[test]
    fn without_autoscaling_the_spec_decides() {
        let s = spec(serde_json::json!({}));
        assert_eq!(stable_replicas(&s, None), 3);
        assert_eq!(stable_replicas(&s, Some(&at(7))), 3, "the spec wins");
    }

    #[test]
    fn with_autoscaling_the_autoscalers_count_is_kept_within_bounds() {
        let s = spec(serde_json::json!({"autoscaling": {
            "minReplicas": 2, "maxReplicas": 8, "targetInFlightPerPod": 4,
        }}));
        let table = [
            (None, 2),
            (Some(5), 5), // the HPA's decision stays, whatever spec.replicas says
            (Some(1), 2),
            (Some(20), 8),
        ];
        for (observed, want) in table {
            let d = observed.map(at);
            assert_eq!(stable_replicas(&s, d.as_ref()), want, "{observed:?}");
        }
    }

    #[test]
    fn validation() {
        let ok = spec(serde_json::json!({
            "cpu": {"request": "500m"},
            "autoscaling": {"maxReplicas": 4, "targetCPUUtilizationPercent": 70},
        }));
        assert_eq!(messages(&ok), Vec::<String>::new());
        assert_eq!(ok.autoscaling.as_ref().map(|a| a.min_replicas), Some(1));
        let bad = spec(serde_json::json!({"autoscaling": {
            "minReplicas": 5, "maxReplicas": 2, "targetCPUUtilizationPercent": 70,
        }}));
        assert_eq!(
            messages(&bad),
            [
                "autoscaling.minReplicas 5 exceeds autoscaling.maxReplicas 2",
                "autoscaling.targetCPUUtilizationPercent needs cpu.request (utilisation is a percentage of it)",
            ]
        );
        let none = spec(serde_json::json!({"autoscaling": {"maxReplicas": 2}}));
        assert_eq!(
            messages(&none),
            ["autoscaling needs targetCPUUtilizationPercent or targetInFlightPerPod"]
        );
    }
}
