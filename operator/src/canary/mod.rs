//! The canary half of a reconcile (only with `rollout.canary`), as stages: `decide` feeds
//! the state machine what happened and returns its new state and actions (reading only
//! the canary Deployment and Prometheus, before any write); `build::canary` turns the
//! state into the desired objects (pure); `steps` decides which writes carry out the
//! actions (pure); the reconcile's one executor (`execute`) carries them out.
//!
//! - stable Deployment `<name>`: applied from the spec only while the spec's revision is
//!   the stable one (or was just promoted); otherwise left exactly as it runs;
//! - canary Deployment `<name>-canary`: the spec's template with
//!   `canary_replicas(replicas, weight)` pods while progressing or paused, 0 pods after a
//!   rollback or abort, deleted once promoted or reverted;
//! - with `traffic.httpRoute`: the two backend Services and the route's weights.
//!
//! `gates` calls the rollout's HTTP gates (`rollout.canary.webhooks`) for `decide`.
//!
//! The state (with the last analysis) goes to `status.rollout` through the one status
//! writer of the reconcile.

pub mod analyse;
pub mod decide;
pub mod gates;
pub mod steps;

pub use decide::{Decision, decide};
pub use steps::steps;
