//! The proposal Sophia receives after each `/llm` completion (contract README):
//! queued in the durable Sophia outbox and delivered by the background replay,
//! so the `/llm` answer never waits for Sophia and nothing is lost while Sophia
//! is down. The `proposal_id` doubles as the `Idempotency-Key` header, so a
//! redelivery (after a lost acknowledgement or a crash) is recognisable as one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::client::{DEPENDENCY, SophiaClient, SophiaError};
use crate::outbox::Outbox;
use crate::outbox::enqueue::enqueue_json;
use crate::outbox::log::OutboxError;
use crate::outbox::replay::{Deliver, DeliveryFailure};
use crate::resilience::metrics::DeliveryMetrics;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalMetadata {
    pub source: String,
    pub derivation: String,
}

/// `POST /ingest/hermes_proposal` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub proposal_id: String,
    pub correlation_id: String,
    pub source_service: String,
    pub llm_provider: String,
    pub model: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub confidence: f64,
    pub raw_text: String,
    pub metadata: ProposalMetadata,
}

/// What the `/llm` handler knows once an answer is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedLlm {
    /// The request id (`X-Request-ID`): becomes the proposal's `correlation_id`.
    pub request_id: String,
    pub provider: String,
    pub model: String,
    /// The first choice's content.
    pub raw_text: String,
}

impl Proposal {
    pub fn from_completion(c: &CompletedLlm) -> Self {
        Self {
            proposal_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: c.request_id.clone(),
            source_service: "hermes".into(),
            llm_provider: c.provider.clone(),
            model: c.model.clone(),
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            confidence: 0.7,
            raw_text: c.raw_text.clone(),
            metadata: ProposalMetadata {
                source: "hermes_llm".into(),
                derivation: "observed".into(),
            },
        }
    }
}

/// Appends proposals to the Sophia outbox.
#[derive(Debug)]
pub struct ProposalQueue {
    pub outbox: Arc<Outbox>,
    pub wake: Arc<Notify>,
    metrics: DeliveryMetrics,
}

impl ProposalQueue {
    pub fn new(outbox: Arc<Outbox>, metrics: DeliveryMetrics) -> Self {
        metrics.set_depth(DEPENDENCY, outbox.depth());
        Self {
            outbox,
            wake: Arc::new(Notify::new()),
            metrics,
        }
    }

    /// Queues `proposal` durably (fsync'd) for delivery.
    pub async fn enqueue(&self, proposal: &Proposal) -> Result<(), OutboxError> {
        enqueue_json(
            &self.outbox,
            DEPENDENCY,
            &self.metrics,
            &self.wake,
            proposal,
        )
        .await
    }
}

/// Proposals read from the outbox per replay step: each is its own POST, in order,
/// and the step's progress is recorded on disk once (not once per proposal).
const PROPOSALS_PER_STEP: usize = 32;

/// Delivers queued proposals one POST each, in order.
#[derive(Debug)]
pub struct ProposalDeliverer {
    pub client: SophiaClient,
}

impl Deliver for ProposalDeliverer {
    fn max_batch(&self) -> usize {
        PROPOSALS_PER_STEP
    }

    async fn deliver(&self, records: &[(u64, Vec<u8>)]) -> Result<(), DeliveryFailure> {
        for (done, (seq, payload)) in records.iter().enumerate() {
            let proposal: Proposal = match serde_json::from_slice(payload) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(seq, error = %e, "undecodable proposal record skipped");
                    continue;
                }
            };
            let body = serde_json::to_value(&proposal)
                .map_err(|e| DeliveryFailure::permanent("bad_record", e.to_string()).after(done))?;
            match self
                .client
                .post_proposal(&body, &proposal.proposal_id)
                .await
            {
                Ok(_) => {}
                // Sophia refused this proposal for good: retrying cannot help.
                Err(e @ SophiaError::Status { status, .. })
                    if (400..500).contains(&status) && status != 408 && status != 429 =>
                {
                    return Err(DeliveryFailure::permanent(
                        e.reason(),
                        format!("{e}: {}", error_body(&e)),
                    )
                    .after(done));
                }
                Err(e) => {
                    return Err(DeliveryFailure::transient(e.reason(), e.to_string()).after(done));
                }
            }
        }
        Ok(())
    }
}

fn error_body(e: &SophiaError) -> String {
    match e {
        SophiaError::Status { body, .. } => body.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_follow_the_contract() {
        let p = Proposal::from_completion(&CompletedLlm {
            request_id: "req-1".into(),
            provider: "echo".into(),
            model: "echo-1".into(),
            raw_text: "hello".into(),
        });
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["correlation_id"], "req-1");
        assert_eq!(v["source_service"], "hermes");
        assert_eq!(v["confidence"], 0.7);
        assert_eq!(
            v["metadata"],
            serde_json::json!({"source": "hermes_llm", "derivation": "observed"})
        );
        assert!(uuid::Uuid::parse_str(v["proposal_id"].as_str().unwrap()).is_ok());
        assert!(chrono::DateTime::parse_from_rfc3339(v["generated_at"].as_str().unwrap()).is_ok());
        assert!(v["generated_at"].as_str().unwrap().ends_with('Z'));
    }
}
