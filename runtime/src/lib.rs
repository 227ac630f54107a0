//! The Hermes runtime: the canonical Hermes API over real models.
//!
//! Data flows one way: [`config`] (env, validated once) -> [`models`] (loaded once,
//! behind workers) -> [`api`] (routes, extractors, errors) -> [`services`]. The
//! pieces are public so integration tests and later capabilities reuse them.
//!
//! Around that line: [`server`] (start, readiness, graceful shutdown with the outbox
//! drain) and [`state`] (what handlers share); [`llm`] (the gateway: providers, the
//! upstream's breaker and retry budget); [`audio`] and [`wav`] (speech in and out);
//! [`persistence`] (Milvus), [`sophia`] (media and proposals), both through the durable
//! [`outbox`] and the [`resilience`] pieces (breakers, backoff, retry budget, delivery
//! metrics); [`outbound`] (the one pooled HTTP client); [`metrics`], [`logging`],
//! [`request_id`], [`extract`], [`error`]; [`fault`] (a testing aid, off by default).

pub mod api;
pub mod audio;
pub mod config;
pub mod error;
pub mod extract;
pub mod fault;
pub mod llm;
pub mod logging;
pub mod metrics;
pub mod models;
pub mod outbound;
pub mod outbox;
pub mod persistence;
pub mod request_id;
pub mod resilience;
pub mod rss;
pub mod server;
pub mod services;
pub mod shutdown;
pub mod sophia;
pub mod state;
pub mod wav;
