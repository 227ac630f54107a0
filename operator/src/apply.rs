//! The only writes to workloads: server-side apply with the operator's field manager,
//! forced (the operator owns these fields), and the delete of an unwanted PDB. Each call
//! says whether it changed the object, so that every change gets an Event.

use crate::build::labels::MANAGER;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Field manager of every apply.
pub const FIELD_MANAGER: &str = MANAGER;

/// What an apply or delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Params of the operator's merge patches (route weights, the command annotation): the
/// same field manager, so managedFields show who changed what.
pub fn merge_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// Applies `desired` and returns the object as stored, with what changed. The object is
/// read first: a server-side apply that changes nothing leaves `resourceVersion` as is.
pub async fn apply<K>(client: &Client, desired: &K) -> Result<(K, Change), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let ns = desired.namespace().unwrap_or_default();
    let name = desired.name_any();
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    let before = api.get_opt(&name).await?;
    if let Some(existing) = &before
        && let Some(owner) = foreign_owner(existing.meta(), desired.meta())
    {
        return Err(kube::Error::Api(
            kube::core::Status::failure(
                &format!(
                    "{} {ns}/{name} exists and is not owned by {owner}; {REFUSING_TAKEOVER}",
                    K::kind(&())
                ),
                "AlreadyExists",
            )
            .with_code(409)
            .boxed(),
        ));
    }
    let after = api
        .patch(&name, &apply_params(), &Patch::Apply(desired))
        .await?;
    let change = match before {
        None => Change::Created,
        Some(b) if changed(b.meta(), after.meta()) => Change::Updated,
        Some(_) => Change::Unchanged,
    };
    Ok((after, change))
}

/// When `existing` is not controlled by the owner `desired` names (another controller's
/// object, or one created by hand, that happens to have the same name): that owner, as
/// `Kind name`. Objects `desired` names no owner for are never refused.
/// The end of the message of an apply refused because the object belongs to someone else.
const REFUSING_TAKEOVER: &str = "refusing to take it over (delete or rename it)";

/// The message of `e` when it is an apply refused by [`apply`] because the object exists
/// and is not owned by the resource.
pub fn not_owned_message(e: &kube::Error) -> Option<&str> {
    match e {
        kube::Error::Api(status)
            if status.code == 409 && status.message.ends_with(REFUSING_TAKEOVER) =>
        {
            Some(status.message.as_str())
        }
        _ => None,
    }
}

pub fn foreign_owner(existing: &ObjectMeta, desired: &ObjectMeta) -> Option<String> {
    let owner = desired
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))?;
    let owned = existing
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == owner.uid);
    (!owned).then(|| format!("{} {}", owner.kind, owner.name))
}

/// Whether an apply changed an object. Where the kind tracks spec changes in
/// `metadata.generation` (Deployment, PodDisruptionBudget) that, plus our labels, is the
/// answer: their `resourceVersion` also moves with every status update made by their
/// controllers, which is not our change. Otherwise (Service) `resourceVersion`.
pub fn changed(before: &ObjectMeta, after: &ObjectMeta) -> bool {
    match (before.generation, after.generation) {
        (Some(b), Some(a)) => b != a || before.labels != after.labels,
        _ => before.resource_version != after.resource_version,
    }
}

/// Reads `name`, `None` when it does not exist.
pub async fn get<K>(client: &Client, namespace: &str, name: &str) -> Result<Option<K>, kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned,
{
    Api::<K>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
}

/// Deletes `name` if it exists.
pub async fn delete_if_present<K>(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Change, kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(Change::Deleted),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Change::Unchanged),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta(generation: Option<i64>, rv: &str, label: &str) -> ObjectMeta {
        ObjectMeta {
            generation,
            resource_version: Some(rv.into()),
            labels: Some(BTreeMap::from([("l".to_string(), label.to_string())])),
            ..Default::default()
        }
    }

    #[test]
    fn change_detection() {
        // (before, after) -> changed
        let table = [
            // a status update by the Deployment controller moved only resourceVersion
            (meta(Some(4), "10", "a"), meta(Some(4), "11", "a"), false),
            (meta(Some(4), "10", "a"), meta(Some(5), "12", "a"), true),
            (meta(Some(4), "10", "a"), meta(Some(4), "12", "b"), true),
            // no generation (Service): resourceVersion decides
            (meta(None, "10", "a"), meta(None, "10", "a"), false),
            (meta(None, "10", "a"), meta(None, "11", "a"), true),
        ];
        for (i, (before, after, want)) in table.iter().enumerate() {
            assert_eq!(changed(before, after), *want, "row {i}");
        }
    }

    #[test]
    fn an_object_of_another_owner_or_of_none_is_foreign() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        let owner = |uid: &str| OwnerReference {
            api_version: "hermes.logos.dev/v1alpha1".into(),
            kind: "HermesDeployment".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let with = |refs: Option<Vec<OwnerReference>>| ObjectMeta {
            owner_references: refs,
            ..ObjectMeta::default()
        };
        let desired = with(Some(vec![owner("u1")]));
        assert_eq!(
            foreign_owner(&with(Some(vec![owner("u1")])), &desired),
            None
        );
        assert_eq!(
            foreign_owner(&with(None), &desired).as_deref(),
            Some("HermesDeployment web")
        );
        assert!(foreign_owner(&with(Some(vec![owner("u2")])), &desired).is_some());
        assert_eq!(foreign_owner(&with(None), &with(None)), None);
    }
}
