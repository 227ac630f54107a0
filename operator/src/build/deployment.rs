//! The runtime Deployment: hardened pod, env from the spec, probes sized from the models,
//! memory from the sizing plan, labelled with the revision hash of its pod template.

use super::{env, labels, probes};
use crate::catalog::Catalog;
use crate::crd::{HermesDeploymentSpec, PullPolicy};
use crate::quantity::format_memory;
use crate::revision;
use crate::sizing::MemoryPlan;
use hermes_interface::probes::{HTTP_PORT, HTTP_PORT_NAME};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, LocalObjectReference,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

pub const CONTAINER_NAME: &str = "runtime";
/// UID/GID of the runtime (distroless `nonroot`).
pub const RUNTIME_UID: i64 = 65532;
/// Writable scratch space; the root filesystem is read-only.
pub const TMP_VOLUME: &str = "tmp";
pub const TMP_SIZE_LIMIT: &str = "256Mi";
/// The runtime's durable outbox (records Milvus/Sophia have not acknowledged):
/// an emptyDir survives container restarts, so a crashed runtime replays it.
pub const OUTBOX_VOLUME: &str = "outbox";
/// The runtime's default outbox bound (256 MiB) plus room for segment overhead.
pub const OUTBOX_SIZE_LIMIT: &str = "512Mi";
/// A Deployment that has not progressed in this long is reported Degraded.
pub const MIN_PROGRESS_DEADLINE_SECONDS: i32 = 600;

/// The Deployment with `replicas` pods and the revision of its pod template.
pub fn build(
    spec: &HermesDeploymentSpec,
    replicas: i32,
    name: &str,
    plan: &MemoryPlan,
    catalog: &Catalog,
    meta: &dyn Fn(BTreeMap<String, String>) -> ObjectMeta,
) -> (Deployment, String) {
    let common = labels::common(name, &spec.image);
    let startup = probes::startup_budget_seconds(spec, catalog);
    let mut template = pod_template(spec, name, plan, startup, &common);
    let revision = revision::of_template(&template);
    if let Some(m) = template.metadata.as_mut() {
        m.labels = m.labels.take().map(|l| labels::with_revision(l, &revision));
    }
    let deployment = Deployment {
        metadata: meta(labels::with_revision(common, &revision)),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels::selector(name)),
                match_expressions: None,
            },
            template,
            // A new pod must load its models before an old one goes: keep full capacity.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            revision_history_limit: Some(5),
            progress_deadline_seconds: Some(MIN_PROGRESS_DEADLINE_SECONDS.max(2 * startup)),
            ..Default::default()
        },
        status: None,
    };
    (deployment, revision)
}

fn empty_dir_volume(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: None,
            mode: None,
            size_limit: Some(Quantity(size_limit.into())),
        }),
        ..Default::default()
    }
}

fn pod_template(
    spec: &HermesDeploymentSpec,
    name: &str,
    plan: &MemoryPlan,
    startup_seconds: i32,
    common: &BTreeMap<String, String>,
) -> PodTemplateSpec {
    let pod = spec.pod.clone().unwrap_or_default();
    // User labels and annotations first, so the operator's own keys win.
    let mut pod_labels = pod.labels.clone();
    pod_labels.extend(common.clone());
    let mut annotations = pod.annotations.clone();
    annotations.extend(labels::scrape_annotations());
    let grace = spec
        .runtime
        .as_ref()
        .and_then(|r| r.shutdown_grace_seconds)
        .unwrap_or(env::DEFAULT_SHUTDOWN_GRACE_SECONDS);

    let container = Container {
        name: CONTAINER_NAME.into(),
        image: Some(spec.image.clone()),
        image_pull_policy: spec
            .image_pull_policy
            .map(|p: PullPolicy| p.as_str().to_string()),
        ports: Some(vec![ContainerPort {
            name: Some(HTTP_PORT_NAME.into()),
            container_port: i32::from(HTTP_PORT),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        env: Some(env::runtime_env(spec, name)),
        resources: Some(resources(spec, plan)),
        startup_probe: Some(probes::startup(startup_seconds)),
        readiness_probe: Some(probes::readiness()),
        liveness_probe: Some(probes::liveness()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(RUNTIME_UID),
            run_as_group: Some(RUNTIME_UID),
            capabilities: Some(Capabilities {
                add: None,
                drop: Some(vec!["ALL".into()]),
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: TMP_VOLUME.into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            },
            VolumeMount {
                name: OUTBOX_VOLUME.into(),
                mount_path: env::OUTBOX_MOUNT_PATH.into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    let non_empty = |m: BTreeMap<String, String>| (!m.is_empty()).then_some(m);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container],
            // The runtime never talks to the API server.
            automount_service_account_token: Some(false),
            // Service links would inject e.g. HERMES_PORT=tcp://... for a Service named hermes.
            enable_service_links: Some(false),
            // Draining requests, then delivering the outbox (its emptyDir goes with the
            // pod), then a margin for the process to exit.
            termination_grace_period_seconds: Some(
                i64::from(grace)
                    + i64::from(hermes_interface::env::DEFAULT_OUTBOX_DRAIN_SECONDS)
                    + 10,
            ),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUNTIME_UID),
                run_as_group: Some(RUNTIME_UID),
                fs_group: Some(RUNTIME_UID),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            volumes: Some(vec![
                empty_dir_volume(TMP_VOLUME, TMP_SIZE_LIMIT),
                empty_dir_volume(OUTBOX_VOLUME, OUTBOX_SIZE_LIMIT),
            ]),
            image_pull_secrets: (!spec.image_pull_secrets.is_empty()).then(|| {
                spec.image_pull_secrets
                    .iter()
                    .map(|n| LocalObjectReference { name: n.clone() })
                    .collect()
            }),
            node_selector: non_empty(pod.node_selector),
            tolerations: (!pod.tolerations.is_empty()).then_some(pod.tolerations),
            affinity: pod.affinity,
            priority_class_name: pod.priority_class_name,
            service_account_name: pod.service_account_name,
            ..Default::default()
        }),
    }
}

/// Memory from the plan; CPU as the spec says.
fn resources(spec: &HermesDeploymentSpec, plan: &MemoryPlan) -> ResourceRequirements {
    let cpu = spec.cpu.clone().unwrap_or_default();
    let mut limits = BTreeMap::from([("memory".to_string(), Quantity(format_memory(plan.limit)))]);
    let mut requests =
        BTreeMap::from([("memory".to_string(), Quantity(format_memory(plan.request)))]);
    if let Some(l) = cpu.limit {
        limits.insert("cpu".into(), Quantity(l));
    }
    if let Some(r) = cpu.request {
        requests.insert("cpu".into(), Quantity(r));
    }
    ResourceRequirements {
        limits: Some(limits),
        requests: Some(requests),
        ..Default::default()
    }
}
