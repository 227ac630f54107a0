//! Use cases that orchestrate the engine and the upstreams, one place each, used
//! by every route that needs them: [`embed_and_store`] (`/embed_text`,
//! `/ingest/media`), [`answer_and_propose`] (`/llm`: the answer, then the Sophia
//! proposal), [`feedback`] (`/feedback`: validated, logged, counted).

pub mod answer_and_propose;
pub mod embed_and_store;
pub mod feedback;
