//! The one executor: carries out a reconcile's `Step`s (applies, deletes, route weights,
//! Events to publish) in order and reports what changed. It decides nothing and reads
//! nothing but what its write primitives read to write (an apply reads the object to tell
//! whether it changed; a route write reads the resourceVersion it is guarded by).

use crate::apply::{self, Change};
use crate::context::ReconcileError;
use crate::events::Notice;
use crate::traffic;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Client, ResourceExt};

/// One thing to do to the cluster (or one Event to publish), in the order given.
// A few values per reconcile, built and consumed at once: boxing the large variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Server-side apply of a Deployment; its Event names `action` and ends with `detail`.
    ApplyDeployment {
        deployment: Deployment,
        action: String,
        detail: String,
    },
    ApplyService {
        service: Service,
        action: String,
    },
    ApplyPdb(PodDisruptionBudget),
    /// Delete the Deployment `name` if it exists.
    DeleteDeployment {
        name: String,
        action: String,
    },
    /// Delete the PodDisruptionBudget `name` if it exists.
    DeletePdb {
        name: String,
    },
    ApplyHpa(HorizontalPodAutoscaler),
    /// Delete the HorizontalPodAutoscaler `name` if it exists (autoscaling turned off).
    DeleteHpa {
        name: String,
    },
    /// Point every rule of `route` at the stable and canary Services of `base`, the
    /// canary at `weight` percent.
    RouteWeights {
        route: String,
        base: String,
        weight: i32,
    },
    /// An Event that is not about a write (a decision, the state machine's own events).
    Publish(Notice),
}

/// What the steps did.
#[derive(Debug, Default)]
pub struct Executed {
    /// The Events to publish, in order: one per change, plus the `Publish` steps.
    pub notices: Vec<Notice>,
    /// The Deployments as the applies returned them.
    pub deployments: Vec<Deployment>,
}

impl Executed {
    /// The applied Deployment `name`, if one was applied.
    pub fn deployment(&self, name: &str) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name))
    }
}

/// Carries out `steps` in `namespace`; stops at the first write that fails.
pub async fn execute(
    client: &Client,
    namespace: &str,
    steps: Vec<Step>,
) -> Result<Executed, ReconcileError> {
    let mut done = Executed::default();
    for step in steps {
        let notice = match step {
            Step::ApplyDeployment {
                deployment,
                action,
                detail,
            } => {
                let name = deployment.name_any();
                let (applied, change) = apply::apply(client, &deployment)
                    .await
                    .map_err(failed("Deployment", &name))?;
                done.deployments.push(applied);
                Notice::for_change("Deployment", &name, change, &action, &detail)
            }
            Step::ApplyService { service, action } => {
                let name = service.name_any();
                let (_, change) = apply::apply(client, &service)
                    .await
                    .map_err(failed("Service", &name))?;
                Notice::for_change("Service", &name, change, &action, "")
            }
            Step::ApplyPdb(pdb) => {
                let name = pdb.name_any();
                let (_, change) = apply::apply(client, &pdb)
                    .await
                    .map_err(failed("PodDisruptionBudget", &name))?;
                Notice::for_change("PodDisruptionBudget", &name, change, "Apply", "")
            }
            Step::ApplyHpa(hpa) => {
                let name = hpa.name_any();
                let (_, change) = apply::apply(client, &hpa)
                    .await
                    .map_err(failed("HorizontalPodAutoscaler", &name))?;
                Notice::for_change("HorizontalPodAutoscaler", &name, change, "Apply", "")
            }
            Step::DeleteHpa { name } => {
                let change =
                    apply::delete_if_present::<HorizontalPodAutoscaler>(client, namespace, &name)
                        .await
                        .map_err(failed("HorizontalPodAutoscaler", &name))?;
                Notice::for_change("HorizontalPodAutoscaler", &name, change, "Apply", "")
            }
            Step::DeleteDeployment { name, action } => {
                let change = apply::delete_if_present::<Deployment>(client, namespace, &name)
                    .await
                    .map_err(failed("Deployment", &name))?;
                Notice::for_change("Deployment", &name, change, &action, "")
            }
            Step::DeletePdb { name } => {
                let change =
                    apply::delete_if_present::<PodDisruptionBudget>(client, namespace, &name)
                        .await
                        .map_err(failed("PodDisruptionBudget", &name))?;
                Notice::for_change("PodDisruptionBudget", &name, change, "Apply", "")
            }
            Step::RouteWeights {
                route,
                base,
                weight,
            } => {
                let backends = traffic::backend_refs(&base, weight);
                let changed = traffic::reweight(client, namespace, &route, &backends)
                    .await
                    .map_err(failed("HTTPRoute", &route))?;
                changed
                    .then(|| {
                        Notice::for_change(
                            "HTTPRoute",
                            &route,
                            Change::Updated,
                            "Route traffic",
                            &format!(": canary weight {weight}%"),
                        )
                    })
                    .flatten()
            }
            Step::Publish(notice) => Some(notice),
        };
        done.notices.extend(notice);
    }
    Ok(done)
}

fn failed(kind: &'static str, name: &str) -> impl FnOnce(kube::Error) -> ReconcileError {
    let name = name.to_string();
    move |source| ReconcileError::Apply { kind, name, source }
}
