//! The durable outbox: what a dependency (Milvus, Sophia) has not acknowledged
//! yet survives on disk until it has, across crashes and restarts.
//!
//! [`log`] is the append-only, fsync'd, bounded record log; [`replay`] is the
//! background task that delivers it in order with backoff and jitter.

pub mod enqueue;
mod group_commit;
pub mod log;
pub mod replay;

pub use log::{Outbox, OutboxError, OutboxLimits};
