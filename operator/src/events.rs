//! Kubernetes Events for every change the operator makes (events.k8s.io/v1 through
//! kube's Recorder, which turns repeats into a series instead of new objects).

use crate::apply::Change;
use crate::build::labels::MANAGER;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The reporter: the operator, and which replica of it.
pub fn reporter(instance: Option<String>) -> Reporter {
    Reporter {
        controller: MANAGER.into(),
        instance,
    }
}

/// One change to report on the HermesDeployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    /// PascalCase, e.g. `DeploymentUpdated`.
    pub reason: String,
    /// What was done. The Recorder folds Events with the same reason and action into one
    /// series (keeping the first note), so an action naming the revision keeps each
    /// rollout's Event apart.
    pub action: String,
    pub note: String,
}

impl Notice {
    /// The Event of an apply or delete of `kind` (None when nothing changed).
    pub fn for_change(
        kind: &str,
        name: &str,
        change: Change,
        action: &str,
        detail: &str,
    ) -> Option<Notice> {
        let verb = match change {
            Change::Created => "Created",
            Change::Updated => "Updated",
            Change::Deleted => "Deleted",
            Change::Unchanged => return None,
        };
        Some(Notice {
            warning: false,
            reason: format!("{kind}{verb}"),
            action: action.chars().take(128).collect(),
            note: format!("{verb} {kind} {name}{detail}"),
        })
    }

    pub fn invalid_spec(message: &str) -> Notice {
        Notice {
            warning: true,
            reason: "InvalidSpec".into(),
            action: "Validate".into(),
            note: message.chars().take(1000).collect(),
        }
    }

    pub fn not_owned(message: &str) -> Notice {
        Notice {
            warning: true,
            reason: "ObjectNotOwned".into(),
            action: "Apply".into(),
            note: message.chars().take(1000).collect(),
        }
    }
}

/// Publishes `notice` about `regarding`.
pub async fn publish(
    recorder: &Recorder,
    regarding: &ObjectReference,
    notice: &Notice,
) -> Result<(), kube::Error> {
    recorder
        .publish(
            &Event {
                type_: if notice.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: notice.reason.clone(),
                note: Some(notice.note.clone()),
                action: notice.action.clone(),
                secondary: None,
            },
            regarding,
        )
        .await
}

/// A recorder for `client`.
pub fn recorder(client: Client, reporter: Reporter) -> Recorder {
    Recorder::new(client, reporter)
}
