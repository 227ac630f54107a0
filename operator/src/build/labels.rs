//! Labels and annotations of the objects the operator makes.

use hermes_interface::metrics::REVISION_LABEL;
use hermes_interface::probes::{HTTP_PORT, METRICS_PATH};
use std::collections::BTreeMap;

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const VERSION: &str = "app.kubernetes.io/version";
pub use hermes_interface::metrics::REVISION_LABEL as REVISION;

pub const APP_NAME: &str = "hermes";
pub const MANAGER: &str = "hermes-operator";

/// Labels a Deployment selects its pods by. Never includes anything that changes with
/// the spec: a Deployment's selector is immutable.
pub fn selector(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.into(), APP_NAME.into()),
        (INSTANCE.into(), instance.into()),
    ])
}

/// The recommended `app.kubernetes.io/*` labels of every object.
pub fn common(instance: &str, image: &str) -> BTreeMap<String, String> {
    let mut labels = selector(instance);
    labels.insert(COMPONENT.into(), "runtime".into());
    labels.insert(MANAGED_BY.into(), MANAGER.into());
    labels.insert(PART_OF.into(), "logos".into());
    if let Some(version) = image_version(image) {
        labels.insert(VERSION.into(), version);
    }
    labels
}

/// `common` plus the revision label.
pub fn with_revision(
    mut labels: BTreeMap<String, String>,
    revision: &str,
) -> BTreeMap<String, String> {
    labels.insert(REVISION_LABEL.into(), revision.into());
    labels
}

/// Prometheus scrape annotations of the runtime pods.
pub fn scrape_annotations() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("prometheus.io/scrape".into(), "true".into()),
        ("prometheus.io/port".into(), HTTP_PORT.to_string()),
        ("prometheus.io/path".into(), METRICS_PATH.into()),
    ])
}

/// The image tag as a label value (at most 63 characters of `[A-Za-z0-9._-]`, starting
/// and ending alphanumeric); None for an untagged or digest-only image.
pub fn image_version(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last.split_once(':')?;
    let cleaned: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_label_from_the_image_tag() {
        assert_eq!(
            image_version("hermes-runtime:0.1.0").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            image_version("registry:5000/hermes:v2").as_deref(),
            Some("v2")
        );
        assert_eq!(image_version("registry:5000/hermes").as_deref(), None);
        assert_eq!(image_version("hermes@sha256:abc").as_deref(), None);
        assert_eq!(
            image_version("hermes:1.0+build@sha256:abc").as_deref(),
            Some("1.0_build")
        );
    }
}
