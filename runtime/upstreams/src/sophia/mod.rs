//! Sophia, the downstream service: media forwarding for `/ingest/media` and the
//! proposal delivered after each `/llm` completion (through the durable outbox,
//! with an idempotency key).

pub mod client;
pub mod proposals;
