//! Feedback from Sophia on plans and executions: validated, logged as one
//! structured event and counted. Nothing else consumes it yet.

use serde_json::Value;

use crate::extract::{Fields, FromJsonBody, Issues, Loc, parse};
use crate::metrics::Metrics;

pub const FEEDBACK_TYPES: &[&str] = &["observation", "plan", "execution", "validation"];
pub const OUTCOMES: &[&str] = &[
    "accepted", "rejected", "created", "success", "failure", "partial",
];
pub const STEP_OUTCOMES: &[&str] = &["success", "failure", "skipped"];
const DEFAULT_SOURCE_SERVICE: &str = "sophia";

#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct StateDiff {
    #[schema(required = false, value_type = Vec<Object>)]
    pub added_nodes: Vec<Value>,
    #[schema(required = false, value_type = Vec<Object>)]
    pub removed_nodes: Vec<Value>,
    #[schema(required = false, value_type = Vec<Object>)]
    pub modified_nodes: Vec<Value>,
}

impl FromJsonBody for StateDiff {
    const NAME: &'static str = "StateDiff";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let added_nodes = f.with_default("added_nodes", Vec::new, parse::any_list);
        let removed_nodes = f.with_default("removed_nodes", Vec::new, parse::any_list);
        let modified_nodes = f.with_default("modified_nodes", Vec::new, parse::any_list);
        Some(Self {
            added_nodes: added_nodes?,
            removed_nodes: removed_nodes?,
            modified_nodes: modified_nodes?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct StepResult {
    pub step_index: i64,
    pub action: String,
    #[schema(value_type = StepOutcome)]
    pub outcome: &'static str,
    pub error: Option<String>,
    pub duration_ms: Option<f64>,
}

impl FromJsonBody for StepResult {
    const NAME: &'static str = "StepResult";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let step_index = f.required("step_index", parse::integer);
        let action = f.required("action", parse::string);
        let outcome = f.required("outcome", parse::literal(STEP_OUTCOMES));
        let error = f.optional("error", parse::string);
        let duration_ms = f.optional("duration_ms", parse::number);
        Some(Self {
            step_index: step_index?,
            action: action?,
            outcome: outcome?,
            error: error?,
            duration_ms: duration_ms?,
        })
    }
}

/// The body of `POST /feedback`.
/// At least one of `correlation_id`, `plan_id`, `execution_id` (422 otherwise).
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
#[schema(as = FeedbackPayload)]
pub struct Feedback {
    #[schema(value_type = FeedbackType)]
    pub feedback_type: &'static str,
    #[schema(value_type = FeedbackOutcome)]
    pub outcome: &'static str,
    pub reason: String,
    pub correlation_id: Option<String>,
    pub plan_id: Option<String>,
    pub execution_id: Option<String>,
    pub state_diff: Option<StateDiff>,
    pub step_results: Option<Vec<StepResult>>,
    pub node_ids_created: Option<Vec<String>>,
    /// RFC 3339 date-time (or Unix seconds).
    pub timestamp: Option<String>,
    #[schema(required = false, default = "sophia")]
    pub source_service: String,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the schema of FEEDBACK_TYPES
pub enum FeedbackType {
    Observation,
    Plan,
    Execution,
    Validation,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the schema of OUTCOMES
pub enum FeedbackOutcome {
    Accepted,
    Rejected,
    Created,
    Success,
    Failure,
    Partial,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the schema of STEP_OUTCOMES
pub enum StepOutcome {
    Success,
    Failure,
    Skipped,
}

impl FromJsonBody for Feedback {
    const NAME: &'static str = "FeedbackPayload";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let feedback_type = f.required("feedback_type", parse::literal(FEEDBACK_TYPES));
        let outcome = f.required("outcome", parse::literal(OUTCOMES));
        let reason = f.required("reason", parse::string);
        let correlation_id = f.optional("correlation_id", parse::string);
        let plan_id = f.optional("plan_id", parse::string);
        let execution_id = f.optional("execution_id", parse::string);
        let state_diff = f.optional("state_diff", parse::model::<StateDiff>);
        let step_results = f.optional("step_results", parse::list(parse::model::<StepResult>));
        let node_ids_created = f.optional("node_ids_created", parse::list(parse::string));
        let timestamp = f.optional("timestamp", datetime);
        let source_service = f.with_default(
            "source_service",
            || DEFAULT_SOURCE_SERVICE.to_owned(),
            parse::string,
        );
        let feedback = Self {
            feedback_type: feedback_type?,
            outcome: outcome?,
            reason: reason?,
            correlation_id: correlation_id?,
            plan_id: plan_id?,
            execution_id: execution_id?,
            state_diff: state_diff?,
            step_results: step_results?,
            node_ids_created: node_ids_created?,
            timestamp: timestamp?,
            source_service: source_service?,
        };
        // Like a pydantic "after" model validator: runs once every field is valid.
        if feedback.correlation_id.is_none()
            && feedback.plan_id.is_none()
            && feedback.execution_id.is_none()
        {
            f.value_error(
                "At least one of correlation_id, plan_id, or execution_id must be provided",
            );
            return None;
        }
        Some(feedback)
    }
}

/// `datetime`: an RFC 3339 / ISO 8601 string (offset optional) or Unix seconds;
/// kept as the client sent it, normalised to a string.
fn datetime(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<String> {
    let valid = match value {
        Value::String(s) => {
            chrono::DateTime::parse_from_rfc3339(s).is_ok()
                || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        Value::Number(n) => n.as_f64().is_some(),
        _ => false,
    };
    if valid {
        return Some(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    issues.push(crate::error::ValidationIssue {
        loc: loc.clone(),
        msg: "Input should be a valid datetime".into(),
        kind: "datetime_parsing",
        input: value.clone(),
        ctx: None,
    });
    None
}

/// The answer to accepted feedback.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FeedbackReceipt)]
pub struct Receipt {
    /// `accepted`.
    pub status: &'static str,
    pub message: String,
}

/// Logs the feedback as one structured event (reason by length only) and counts it.
pub fn record(feedback: &Feedback, metrics: &Metrics) -> Receipt {
    tracing::info!(
        feedback_type = feedback.feedback_type,
        outcome = feedback.outcome,
        correlation_id = feedback.correlation_id.as_deref(),
        plan_id = feedback.plan_id.as_deref(),
        execution_id = feedback.execution_id.as_deref(),
        source_service = %feedback.source_service,
        reason_chars = feedback.reason.chars().count(),
        step_results = feedback.step_results.as_ref().map_or(0, Vec::len),
        nodes_created = feedback.node_ids_created.as_ref().map_or(0, Vec::len),
        "feedback received"
    );
    metrics.count_feedback(feedback.feedback_type, feedback.outcome);
    Receipt {
        status: "accepted",
        message: format!(
            "Feedback received: {} {} from {}",
            feedback.feedback_type, feedback.outcome, feedback.source_service
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::extract::validate_body;
    use serde_json::json;

    fn kinds(body: Value) -> Vec<(Value, &'static str)> {
        match validate_body::<Feedback>(&body) {
            Err(ApiError::Validation(issues)) => issues
                .into_iter()
                .map(|i| (Value::Array(i.loc), i.kind))
                .collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_full_payload_is_accepted() {
        let body = json!({
            "feedback_type": "execution", "outcome": "partial", "reason": "step 2 failed",
            "execution_id": "ex-1", "state_diff": {"added_nodes": ["n1"]},
            "step_results": [{"step_index": 0, "action": "move", "outcome": "success", "duration_ms": 12.5},
                             {"step_index": 1, "action": "grasp", "outcome": "failure", "error": "slipped"}],
            "node_ids_created": ["n1"], "timestamp": "2026-11-29T06:00:00Z"
        });
        let feedback: Feedback = validate_body(&body).unwrap();
        assert_eq!(feedback.source_service, "sophia");
        assert_eq!(
            feedback.step_results.as_ref().unwrap()[1].error.as_deref(),
            Some("slipped")
        );
        let receipt = record(&feedback, &Metrics::new("test"));
        assert_eq!(receipt.status, "accepted");
    }

    #[test]
    fn invalid_payloads_list_their_problems() {
        assert_eq!(
            kinds(json!({"feedback_type": "plan", "outcome": "accepted", "reason": "ok"})),
            vec![(json!(["body"]), "value_error")]
        );
        assert_eq!(
            kinds(json!({"feedback_type": "guess", "outcome": "accepted", "plan_id": "p"})),
            vec![
                (json!(["body", "feedback_type"]), "literal_error"),
                (json!(["body", "reason"]), "missing"),
            ]
        );
        assert_eq!(
            kinds(
                json!({"feedback_type": "plan", "outcome": "success", "reason": "r", "plan_id": "p",
                         "step_results": [{"step_index": "x", "action": "a", "outcome": "done"}],
                         "timestamp": "yesterday"})
            ),
            vec![
                (
                    json!(["body", "step_results", 0, "step_index"]),
                    "int_parsing"
                ),
                (
                    json!(["body", "step_results", 0, "outcome"]),
                    "literal_error"
                ),
                (json!(["body", "timestamp"]), "datetime_parsing"),
            ]
        );
    }
}
