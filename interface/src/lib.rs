//! What the Hermes operator and the Hermes runtime must agree on.
//!
//! The operator renders the runtime's environment, probes and port from these
//! constants, and its canary analysis queries the metric names defined here. The
//! runtime serves exactly these. A rename therefore breaks the build, not a
//! rollout in production. This crate knows nothing of HTTP, Kubernetes or models'
//! code.

pub mod catalog;
pub mod env;
pub mod metrics;
pub mod probes;

pub use catalog::{CATALOG, ModelEntry, Provenance, Task};
