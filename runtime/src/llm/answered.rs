//! The seam after each completed `/llm` answer: logs that an answer went out
//! (never its text) and queues the Sophia proposal (`POST /ingest/hermes_proposal`)
//! in the durable outbox, so the answer never waits for Sophia.

use crate::state::AppState;

/// What the proposal needs about one answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredCompletion {
    /// The request's `X-Request-ID` (the proposal's `correlation_id`).
    pub request_id: String,
    pub provider: &'static str,
    pub model: String,
    /// Unix seconds the provider reported.
    pub created: i64,
    /// The first choice's content (the proposal's `raw_text`).
    pub text: String,
}

/// Called once per `/llm` answer that completed, streamed or not, after the
/// response is produced (a streamed answer: after its last chunk). Must not block.
pub fn completion_answered(state: &AppState, answered: AnsweredCompletion) {
    tracing::debug!(
        request_id = %answered.request_id,
        provider = answered.provider,
        model = %answered.model,
        text_chars = answered.text.chars().count(),
        "llm answer completed"
    );
    // Queued in the background into the durable Sophia outbox (when a token is set).
    crate::sophia::proposals::after_llm_completion(
        state,
        crate::sophia::proposals::CompletedLlm {
            request_id: answered.request_id,
            provider: answered.provider.to_owned(),
            model: answered.model,
            raw_text: answered.text,
        },
    );
}
