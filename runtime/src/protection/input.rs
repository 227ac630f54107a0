//! Input limits reported as pydantic would: a text longer than the limit is a
//! 422 `string_too_long` (`ctx.max_length`), a model id outside
//! `^[A-Za-z0-9_.-]+$` a 422 `string_pattern_mismatch`; and the `input` echoed
//! in any validation error is a bounded excerpt, never the whole body.

use serde_json::{Value, json};

use crate::error::{ApiError, ValidationIssue};

/// The pattern model ids must match (as pydantic's `pattern=` reports it).
pub const MODEL_ID_PATTERN: &str = "^[A-Za-z0-9_.-]+$";
/// Longest model id.
pub const MAX_MODEL_ID_CHARS: usize = 128;

fn loc(field: &str) -> Vec<Value> {
    vec![json!("body"), json!(field)]
}

/// `text` (at `body.<field>`) within `max` characters.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().nth(max).is_none() {
        return Ok(());
    }
    Err(ApiError::Validation(vec![ValidationIssue {
        loc: loc(field),
        msg: format!("String should have at most {max} characters"),
        kind: "string_too_long",
        input: json!(text),
        ctx: Some(json!({ "max_length": max })),
    }]))
}

/// Whether `id` is made of letters, digits, `_`, `.`, `-` only (and is not empty).
fn has_model_id_chars(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// Whether `id` is a model id [`check_model_id`] accepts.
pub fn is_model_id(id: &str) -> bool {
    has_model_id_chars(id) && id.chars().nth(MAX_MODEL_ID_CHARS).is_none()
}

/// A model id (at `body.<field>`) of letters, digits, `_`, `.`, `-`.
pub fn check_model_id(field: &str, id: &str) -> Result<(), ApiError> {
    let ok = has_model_id_chars(id);
    if is_model_id(id) {
        return Ok(());
    }
    if ok {
        return Err(ApiError::Validation(vec![ValidationIssue {
            loc: loc(field),
            msg: format!("String should have at most {MAX_MODEL_ID_CHARS} characters"),
            kind: "string_too_long",
            input: json!(id),
            ctx: Some(json!({ "max_length": MAX_MODEL_ID_CHARS })),
        }]));
    }
    Err(ApiError::Validation(vec![ValidationIssue {
        loc: loc(field),
        msg: format!("String should match pattern '{MODEL_ID_PATTERN}'"),
        kind: "string_pattern_mismatch",
        input: json!(id),
        ctx: Some(json!({ "pattern": MODEL_ID_PATTERN })),
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_at_the_limit_passes_and_one_more_fails_like_pydantic() {
        assert!(check_text("text", &"é".repeat(10), 10).is_ok());
        let Err(ApiError::Validation(issues)) = check_text("text", &"é".repeat(11), 10) else {
            panic!("expected a validation error");
        };
        assert_eq!(issues[0].kind, "string_too_long");
        assert_eq!(issues[0].ctx, Some(json!({"max_length": 10})));
        assert_eq!(issues[0].msg, "String should have at most 10 characters");
    }

    #[test]
    fn model_ids_follow_the_pattern() {
        assert!(check_model_id("model", "all-minilm-l6-v2").is_ok());
        assert!(check_model_id("model", "gpt-4o_mini.v1").is_ok());
        for bad in ["", "a/b", "../etc", "x y", "naïve", "a\nb"] {
            let Err(ApiError::Validation(issues)) = check_model_id("model", bad) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(issues[0].kind, "string_pattern_mismatch", "{bad:?}");
        }
    }
}
