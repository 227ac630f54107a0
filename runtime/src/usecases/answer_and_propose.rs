//! The seam after each completed `/llm` answer: logs that an answer went out
//! (never its text) and queues the Sophia proposal (`POST /ingest/hermes_proposal`)
//! in the durable outbox, so the answer never waits for Sophia. With Sophia
//! forwarding turned off (`HERMES_FEATURES_DISABLED=sophia`) no proposal is made.

use hermes_upstreams::outbox::OutboxError;
use hermes_upstreams::sophia::proposals::CompletedLlm;

use crate::state::AppState;

/// Whether the answer's proposal could be kept: `Err` (the `/llm` request gets a
/// 503 before any work) when a Sophia token is set and its outbox is full.
pub fn check_room(state: &AppState) -> Result<(), OutboxError> {
    if !state.config.features.sophia {
        return Ok(());
    }
    state.deliveries.check_proposal_room()
}

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
    if !state.config.features.sophia {
        return;
    }
    // Queued in the background into the durable Sophia outbox (when a token is set).
    state.deliveries.propose(CompletedLlm {
        request_id: answered.request_id,
        provider: answered.provider.to_owned(),
        model: answered.model,
        raw_text: answered.text,
    });
}
