//! The Hermes runtime's binary crate: HTTP, configuration and composition.
//!
//! Three crates, one direction: `hermes-engine` (models, workers, capability
//! services; no HTTP, no env, no network) <- `hermes-upstreams` (Milvus, Sophia,
//! the OpenAI-compatible upstream, the outbox, breakers; no serving, no env) <-
//! this crate, which alone reads the environment and speaks HTTP.
//!
//! Here, bottom up: [`config`] (env -> the typed [`config::Config`] holding each
//! crate's plain settings, validated once); [`fault`] (a testing aid, off by
//! default); [`metrics`] (with [`embedding_metrics`] and [`llm_metrics`]), [`telemetry`] (OpenTelemetry export and W3C trace context), [`logging`], [`request_id`]; [`protection`] (API keys, rate and input limits, JSON errors, log hygiene); [`gateway`] (the LLM
//! gateway, built once); [`state`] (what handlers share, built complete);
//! [`error`] and [`extract`] (FastAPI-compatible errors and body parsing);
//! [`usecases`] (embed and store, answer and propose, feedback); [`api`] (routes
//! and handlers: parse, call, map errors); [`listener`] (the accept loop with
//! header-read timeouts and a connection cap); [`server`] (start, readiness,
//! graceful shutdown with the outbox drain) and [`shutdown`]; [`memory_budget`] (refuses
//! to start when the declared models do not fit the cgroup's memory limit); [`cli`] (the flags: help, version, check).

pub mod api;
pub mod cli;
pub mod config;
pub mod embedding_metrics;
pub mod error;
pub mod extract;
pub mod fault;
pub mod gateway;
pub mod listener;
pub mod llm_metrics;
pub mod logging;
pub mod memory_budget;
pub mod metrics;
pub mod protection;
pub mod request_id;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod telemetry;
pub mod usecases;
