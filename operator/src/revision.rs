//! The revision of a pod template (pure): a short hash that changes exactly when the
//! template changes. It labels the Deployment and its pods (`hermes.logos.dev/revision`),
//! so the canary feature can tell revisions apart and Prometheus can split series by it.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use sha2::{Digest, Sha256};

/// Hex digits kept: 40 bits, collisions between a resource's revisions are negligible.
const REVISION_LEN: usize = 10;

/// Hash of `template` (computed before the revision label itself is added).
pub fn of_template(template: &PodTemplateSpec) -> String {
    // k8s-openapi serializes struct fields in a fixed order and maps as BTreeMaps, so the
    // JSON is canonical for a given template.
    let json = serde_json::to_vec(template).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(REVISION_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "runtime".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn stable_for_the_same_template() {
        let a = of_template(&template("hermes:1"));
        assert_eq!(a, of_template(&template("hermes:1")));
        assert_eq!(a.len(), REVISION_LEN);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn changes_with_the_template() {
        assert_ne!(
            of_template(&template("hermes:1")),
            of_template(&template("hermes:2"))
        );
    }
}
