//! Canary rollouts as pure data: the state machine (`machine`), its policy (`policy`),
//! the replica split (`replicas`) and the gates' decisions (`gates`). No I/O here: the
//! controller feeds events in, persists the returned state in the status and carries out
//! the returned actions.

pub mod command;
pub mod gates;
pub mod machine;
pub mod persist;
pub mod policy;
pub mod replicas;

#[cfg(test)]
mod gates_tests;
#[cfg(test)]
mod machine_tests;

pub use machine::{Action, RolloutEvent, RolloutPhase, RolloutState, next};
pub use policy::{CanaryPolicy, NoDataPolicy};
pub use replicas::canary_replicas;
