//! Input limits reported as pydantic would: a text longer than the limit is a
//! 422 `string_too_long` (`ctx.max_length`), a model id outside
//! `^[A-Za-z0-9_.-]+$` a 422 `string_pattern_mismatch`; and the `input` echoed
//! in any validation error is a bounded excerpt, never the whole body.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ValidationIssue};

/// The pattern model ids must match (as pydantic's `pattern=` reports it).
pub const MODEL_ID_PATTERN: &str = "^[A-Za-z0-9_.-]+$";
/// Longest model id.
pub const MAX_MODEL_ID_CHARS: usize = 128;

/// Characters of a string kept in an echoed `input`.
pub const EXCERPT_CHARS: usize = 100;
/// Items of a list (or entries of an object) kept in an echoed `input`.
const EXCERPT_ITEMS: usize = 10;
/// Nesting kept in an echoed `input`.
const EXCERPT_DEPTH: usize = 3;

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

/// A model id (at `body.<field>`) of letters, digits, `_`, `.`, `-`.
pub fn check_model_id(field: &str, id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok && id.chars().nth(MAX_MODEL_ID_CHARS).is_none() {
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

/// A bounded excerpt of `value`: strings cut (with `…`), lists and objects
/// shortened, nesting cut, so an error never echoes a large body.
pub fn excerpt(value: &Value) -> Value {
    excerpt_at(value, 0)
}

fn excerpt_at(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) => {
            if s.chars().nth(EXCERPT_CHARS).is_some() {
                let mut cut: String = s.chars().take(EXCERPT_CHARS).collect();
                cut.push('…');
                Value::String(cut)
            } else {
                value.clone()
            }
        }
        Value::Array(items) if depth >= EXCERPT_DEPTH => json!(format!("[{} items]", items.len())),
        Value::Object(map) if depth >= EXCERPT_DEPTH => json!(format!("{{{} keys}}", map.len())),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .take(EXCERPT_ITEMS)
                .map(|v| excerpt_at(v, depth + 1))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .take(EXCERPT_ITEMS)
                .map(|(k, v)| {
                    (
                        k.chars().take(EXCERPT_CHARS).collect(),
                        excerpt_at(v, depth + 1),
                    )
                })
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
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

    #[test]
    fn excerpts_are_bounded() {
        let big = json!({"text": "x".repeat(1_000_000), "list": (0..1000).collect::<Vec<_>>()});
        let cut = excerpt(&big);
        assert!(cut.to_string().len() < 1000, "{}", cut.to_string().len());
        assert_eq!(cut["list"].as_array().map(Vec::len), Some(EXCERPT_ITEMS));
        assert_eq!(excerpt(&json!("short")), json!("short"));
    }
}
