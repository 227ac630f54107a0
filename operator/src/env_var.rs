//! The container variables the operator renders: a plain value, a key of a Secret
//! (by reference, never its value), or a field of the pod itself (downward API).

use crate::crd::SecretKeyRef;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

pub fn value(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// `key` of the Secret `secret_name`, which must exist.
pub fn secret(name: &str, key: &str, secret_name: &str) -> EnvVar {
    from(
        name,
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret_name.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..Default::default()
        },
    )
}

pub fn secret_ref(name: &str, r: &SecretKeyRef) -> EnvVar {
    secret(name, &r.key, &r.name)
}

/// The pod's own `field_path` (`metadata.name`, `metadata.labels['...']`); a label the
/// pod lacks reads as "".
pub fn pod_field(name: &str, field_path: impl Into<String>) -> EnvVar {
    from(
        name,
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: field_path.into(),
            }),
            ..Default::default()
        },
    )
}

fn from(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(source),
    }
}
