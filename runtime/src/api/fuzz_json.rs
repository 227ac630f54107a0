//! Fuzzing the JSON request decoders, bounded so it runs in `make test`: arbitrary JSON
//! (deep, wide, long strings with control characters and NUL, huge numbers, the real
//! field names with values of every type) and mutated bytes of valid bodies go through
//! what every JSON route runs first (`parse_body`, then `validate_body` for each request
//! type). Whatever arrives: no panic, and a refusal is a 4xx whose JSON `detail` stays
//! small however large the input (`HERMES_FUZZ_CASES` raises the case count by hand).

use axum::body::to_bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::chat_completions::ChatRequest;
use super::embed::EmbedRequest;
use super::llm::LlmRequest;
use super::openai_audio::SpeechRequest;
use super::simple_nlp::SimpleNlpRequest;
use super::tts::TtsRequest;
use crate::error::ApiError;
use crate::extract::{FromJsonBody, parse_body, validate_body};
use crate::usecases::feedback::Feedback;

/// Largest error body a refusal may send, whatever the input's size.
const MAX_ERROR_BODY: usize = 64 * 1024;

fn cases() -> u32 {
    std::env::var("HERMES_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9_000)
}

/// Field names the request types read, so values reach the field parsers.
const FIELDS: &[&str] = &[
    "text",
    "model",
    "messages",
    "role",
    "content",
    "name",
    "prompt",
    "provider",
    "metadata",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "seed",
    "stream",
    "stream_options",
    "input",
    "voice",
    "speed",
    "response_format",
    "plan_id",
    "execution_id",
    "correlation_id",
    "feedback_type",
    "outcome",
    "step_results",
    "step_index",
    "action",
    "duration_ms",
    "error",
    "state_diff",
    "added_nodes",
    "removed_nodes",
    "modified_nodes",
    "timestamp",
    "reason",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,40}",
        2 => "[\\x00-\\x1f\\u{7f}\\u{2028}\\u{feff}a-z ]{0,40}",
        1 => (0usize..3, any::<char>()).prop_map(|(k, c)| c.to_string().repeat(10_001 + k * 50_000)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        text().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 128, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![3 => prop::sample::select(FIELDS).prop_map(String::from), 1 => text()], inner),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A body shaped like a request: an object of known fields with arbitrary values.
fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS), value()), 0..10).prop_map(|pairs| {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

/// `Ok` for an accepted body; a refusal must be a 4xx with a small JSON `detail`.
fn check_refusal(result: Result<(), ApiError>) -> Result<(), TestCaseError> {
    let Err(error) = result else {
        return Ok(());
    };
    let response = error.into_response();
    let status = response.status();
    prop_assert!(
        [
            StatusCode::BAD_REQUEST,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
        .contains(&status),
        "status {status}"
    );
    let bytes = futures::executor::block_on(to_bytes(response.into_body(), usize::MAX))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        bytes.len() <= MAX_ERROR_BODY,
        "{} bytes of error",
        bytes.len()
    );
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(body.get("detail").is_some(), "{body}");
    Ok(())
}

fn validate_as<T: FromJsonBody>(value: &Value) -> Result<(), ApiError> {
    validate_body::<T>(value).map(|_| ())
}

/// Every JSON request type's validation of `value`.
fn validate_all(value: &Value) -> Result<(), TestCaseError> {
    check_refusal(validate_as::<EmbedRequest>(value))?;
    check_refusal(validate_as::<TtsRequest>(value))?;
    check_refusal(validate_as::<SimpleNlpRequest>(value))?;
    check_refusal(validate_as::<LlmRequest>(value))?;
    check_refusal(validate_as::<ChatRequest>(value))?;
    check_refusal(validate_as::<SpeechRequest>(value))?;
    check_refusal(validate_as::<Feedback>(value))?;
    Ok(())
}

fn valid_bodies() -> Vec<Vec<u8>> {
    [
        json!({"text": "hello world", "model": "all-minilm-l6-v2"}),
        json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0.5}),
        json!({"model": "tts-1", "input": "hi", "voice": "alloy", "speed": 1.5, "response_format": "wav"}),
        json!({"plan_id": "p", "execution_id": "e", "feedback_type": "execution", "outcome": "success",
               "step_results": [{"step_index": 0, "action": "a", "outcome": "success", "duration_ms": 3}],
               "state_diff": {"added_nodes": ["n"]}, "timestamp": "2026-11-30T00:00:00Z"}),
    ]
    .iter()
    .map(|v| v.to_string().into_bytes())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_bodies_are_accepted_or_refused_with_a_small_4xx(body in body()) {
        validate_all(&body)?;
    }

    #[test]
    fn arbitrary_json_documents_are_accepted_or_refused_with_a_small_4xx(doc in value()) {
        validate_all(&doc)?;
    }

    #[test]
    fn mutated_bytes_parse_or_are_refused_with_a_small_4xx(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bodies = valid_bodies();
        let mut bytes = bodies[seed.index(bodies.len())].clone();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        match parse_body(Some("application/json"), &bytes) {
            Ok(value) => validate_all(&value)?,
            Err(e) => check_refusal(Err(e))?,
        }
    }
}

#[test]
fn nesting_far_beyond_serde_s_limit_is_a_422_not_a_stack_overflow() {
    for depth in [200, 100_000] {
        let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let Err(e) = parse_body(Some("application/json"), doc.as_bytes()) else {
            panic!("{depth} levels accepted");
        };
        assert_eq!(e.into_response().status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
