//! What the Hermes runtime reaches over the network, and how it keeps its promises
//! when a dependency is down. No HTTP serving, no env: the binary crate builds the
//! settings and calls in here.
//!
//! Bottom up: [`secret`] (values never printed); [`addresses`] (dependency
//! addresses scrubbed from what a client reads); [`config`] (the plain settings); [`outbound`] (the one pooled HTTP
//! client and dependency timeouts); [`resilience`] (breakers, backoff, retry budget,
//! delivery metrics); [`outbox`] (the durable, fsync'd log replayed to a
//! dependency); [`persistence`] (Milvus) and [`sophia`] (media forwarding and LLM
//! proposals), both through the outbox; [`deliveries`] starts and drains them;
//! [`llm_upstream`] (the OpenAI-compatible provider, guarded by a breaker and a
//! retry budget); [`trace_context`] (client spans of outbound calls and the W3C
//! trace headers they carry).

pub mod addresses;
pub mod config;
pub mod deliveries;
pub mod llm_upstream;
pub mod outbound;
pub mod outbox;
pub mod persistence;
pub mod resilience;
pub mod secret;
pub mod sophia;
pub mod trace_context;
