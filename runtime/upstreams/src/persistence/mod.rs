//! Persistence of embeddings in Milvus that never loses a record: a direct
//! upsert when Milvus answers, else the durable outbox and a background replay.
//!
//! [`schema`] is the contract's collection; [`milvus`] the shared client, its
//! supervisor (connect, ensure, reconnect) and writes; [`write`] a row and a
//! write's failures; [`upsert_rpc`] the write
//! itself, on our own gRPC channel so it carries the trace; [`embeddings`] the
//! service `/embed_text` calls and the outbox's Milvus deliverer.

pub mod embeddings;
pub mod health;
pub mod milvus;
pub mod schema;
pub mod upsert_rpc;
pub mod write;
