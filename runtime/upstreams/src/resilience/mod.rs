//! Resilience for calls to dependencies (Milvus, Sophia, later the LLM upstream):
//! a circuit breaker per dependency, exponential backoff with jitter for
//! replays, and a retry budget that caps how many extra calls retries may add.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod metrics;
