//! Weighted traffic through a Gateway API `HTTPRoute` (`rollout.traffic.httpRoute`): the
//! route's backends and their one write. k8s-openapi has no Gateway API types, so the
//! route is a `DynamicObject`. The operator owns two Services, `<name>-stable` (the stable
//! revision's pods) and `<name>-canary` (the canary track; built in `build::canary`), and
//! rewrites the `backendRefs` of every rule of the named route to those two with weights
//! `100 - w` and `w`. Everything else of the route (parents, matches, filters) is the
//! user's and stays as it is.

use crate::apply;
use crate::build::canary as build_canary;
use hermes_interface::probes::HTTP_PORT;
use kube::api::{ApiResource, DynamicObject, Patch};
use kube::{Api, Client};
use serde_json::{Value, json};

/// `gateway.networking.k8s.io/v1` `HTTPRoute`.
pub fn http_route_resource() -> ApiResource {
    ApiResource {
        group: "gateway.networking.k8s.io".into(),
        version: "v1".into(),
        api_version: "gateway.networking.k8s.io/v1".into(),
        kind: "HTTPRoute".into(),
        plural: "httproutes".into(),
    }
}

/// The two weighted backends.
pub fn backend_refs(base: &str, canary_weight: i32) -> Value {
    let w = canary_weight.clamp(0, 100);
    json!([
        {"group": "", "kind": "Service", "name": build_canary::stable_service_name(base), "port": HTTP_PORT, "weight": 100 - w},
        {"group": "", "kind": "Service", "name": build_canary::name(base), "port": HTTP_PORT, "weight": w},
    ])
}

/// `rules` with every rule's backends replaced (pure). `None` when nothing changes.
pub fn reweighted(rules: &Value, backends: &Value) -> Option<Value> {
    let list = rules.as_array()?;
    let new: Vec<Value> = list
        .iter()
        .map(|rule| {
            let mut r = rule.clone();
            if let Some(o) = r.as_object_mut() {
                o.insert("backendRefs".into(), backends.clone());
            }
            r
        })
        .collect();
    (new != *list).then_some(Value::Array(new))
}

/// Points every rule of the route `route_name` at `backends`; whether that changed it.
/// The one write of a route is a read-modify-write: a merge patch replaces the whole
/// rules list, and the resourceVersion read makes a concurrent edit of the route fail
/// (and the reconcile retry) instead of being overwritten.
pub async fn reweight(
    client: &Client,
    namespace: &str,
    route_name: &str,
    backends: &Value,
) -> Result<bool, kube::Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &http_route_resource());
    let current = api.get(route_name).await?;
    let rules = current
        .data
        .get("spec")
        .and_then(|s| s.get("rules"))
        .cloned()
        .unwrap_or(Value::Null);
    let Some(new_rules) = reweighted(&rules, backends) else {
        return Ok(false);
    };
    let patch = json!({
        "metadata": {"resourceVersion": current.metadata.resource_version},
        "spec": {"rules": new_rules},
    });
    api.patch(route_name, &apply::merge_params(), &Patch::Merge(&patch))
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_gets_the_two_weighted_backends_and_keeps_the_rest() {
        let rules = json!([
            {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"name": "chat", "port": 8080}]},
            {"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}]},
        ]);
        let new = reweighted(&rules, &backend_refs("chat", 25)).expect("changed");
        for (i, rule) in new.as_array().expect("rules").iter().enumerate() {
            assert_eq!(rule["matches"], rules[i]["matches"], "matches kept");
            let refs = rule["backendRefs"].as_array().expect("refs");
            assert_eq!(refs[0]["name"], "chat-stable");
            assert_eq!(refs[0]["weight"], 75);
            assert_eq!(refs[1]["name"], "chat-canary");
            assert_eq!(refs[1]["weight"], 25);
            assert_eq!(refs[1]["port"], 8080);
        }
        assert_eq!(
            reweighted(&new, &backend_refs("chat", 25)),
            None,
            "idempotent"
        );
        assert_eq!(backend_refs("chat", 150)[1]["weight"], 100);
    }
}
