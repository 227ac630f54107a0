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
/// The names an LLM provider's model may have (`model` of `/llm` and
/// `/v1/chat/completions`, forwarded upstream): OpenAI-compatible servers name
/// models `org/name` (vLLM) or `name:tag` (Ollama).
pub const PROVIDER_MODEL_PATTERN: &str = "^[A-Za-z0-9_.:/@-]+$";
/// Longest provider model name.
pub const MAX_PROVIDER_MODEL_CHARS: usize = 256;

/// `["body", field]`: where a top-level body field is reported.
pub fn field(name: &str) -> Vec<Value> {
    vec![json!("body"), json!(name)]
}

/// `["body", list, index, name]`: a field of a list item (`messages[2].content`).
pub fn item_field(list: &str, index: usize, name: &str) -> Vec<Value> {
    vec![json!("body"), json!(list), json!(index), json!(name)]
}

/// The text fields and model ids of one request, checked together so that one
/// 422 lists every failing field, as pydantic reports them.
#[derive(Debug)]
pub struct Checks {
    /// Most characters of a text field (`HERMES_MAX_TEXT_CHARS`).
    text_limit: usize,
    issues: Vec<ValidationIssue>,
}

impl Checks {
    pub fn new(text_limit: usize) -> Self {
        Self {
            text_limit,
            issues: Vec::new(),
        }
    }

    /// `text` (at `loc`) within the text limit.
    pub fn text(&mut self, loc: Vec<Value>, text: &str) -> &mut Self {
        if text.chars().nth(self.text_limit).is_some() {
            self.issues.push(too_long(loc, text, self.text_limit));
        }
        self
    }

    /// A model id (at `loc`) of letters, digits, `_`, `.`, `-`, at most
    /// [`MAX_MODEL_ID_CHARS`] long.
    pub fn model_id(&mut self, loc: Vec<Value>, id: &str) -> &mut Self {
        self.name(
            loc,
            id,
            is_model_id_byte,
            MODEL_ID_PATTERN,
            MAX_MODEL_ID_CHARS,
        )
    }

    /// A model name forwarded to an LLM provider (at `loc`): [`PROVIDER_MODEL_PATTERN`],
    /// at most [`MAX_PROVIDER_MODEL_CHARS`] long.
    pub fn provider_model(&mut self, loc: Vec<Value>, name: &str) -> &mut Self {
        let allowed = |b: u8| is_model_id_byte(b) || b == b':' || b == b'/' || b == b'@';
        self.name(
            loc,
            name,
            allowed,
            PROVIDER_MODEL_PATTERN,
            MAX_PROVIDER_MODEL_CHARS,
        )
    }

    /// A name of `allowed` ASCII bytes (`pattern` says which), at most `max` long.
    fn name(
        &mut self,
        loc: Vec<Value>,
        name: &str,
        allowed: impl Fn(u8) -> bool,
        pattern: &str,
        max: usize,
    ) -> &mut Self {
        if name.len() > max {
            self.issues.push(too_long(loc, name, max));
        } else if name.is_empty() || !name.bytes().all(allowed) {
            self.issues.push(ValidationIssue {
                loc,
                msg: format!("String should match pattern '{pattern}'"),
                kind: "string_pattern_mismatch",
                input: json!(name),
                ctx: Some(json!({ "pattern": pattern })),
            });
        }
        self
    }

    /// The failed checks, for a route that gathers issues of its own.
    pub fn into_issues(self) -> Vec<ValidationIssue> {
        self.issues
    }

    /// `Err(422)` listing every failed check, `Ok` when none failed.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(std::mem::take(&mut self.issues)))
        }
    }
}

/// pydantic's `string_too_long` of `input` at `loc`.
fn too_long(loc: Vec<Value>, input: &str, max: usize) -> ValidationIssue {
    ValidationIssue {
        loc,
        msg: format!("String should have at most {max} characters"),
        kind: "string_too_long",
        input: json!(input),
        ctx: Some(json!({ "max_length": max })),
    }
}

/// A letter, digit, `_`, `.` or `-`: what [`MODEL_ID_PATTERN`] allows.
fn is_model_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
}

/// Whether `id` is a model id [`Checks::model_id`] accepts.
pub fn is_model_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_MODEL_ID_CHARS && id.bytes().all(is_model_id_byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_at_the_limit_passes_and_one_more_fails_like_pydantic() {
        assert!(
            Checks::new(10)
                .text(field("text"), &"é".repeat(10))
                .finish()
                .is_ok()
        );
        let Err(ApiError::Validation(issues)) = Checks::new(10)
            .text(field("text"), &"é".repeat(11))
            .finish()
        else {
            panic!("expected a validation error");
        };
        assert_eq!(issues[0].kind, "string_too_long");
        assert_eq!(issues[0].ctx, Some(json!({"max_length": 10})));
        assert_eq!(issues[0].msg, "String should have at most 10 characters");
    }

    #[test]
    fn model_ids_follow_the_pattern() {
        let check = |id: &str| Checks::new(10).model_id(field("model"), id).finish();
        assert!(check("all-minilm-l6-v2").is_ok());
        assert!(check("gpt-4o_mini.v1").is_ok());
        let Err(ApiError::Validation(issues)) = check(&"a".repeat(MAX_MODEL_ID_CHARS + 1)) else {
            panic!("a long id accepted");
        };
        assert_eq!(issues[0].kind, "string_too_long");
        for bad in ["", "a/b", "../etc", "x y", "naïve", "a\nb"] {
            let Err(ApiError::Validation(issues)) = check(bad) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(issues[0].kind, "string_pattern_mismatch", "{bad:?}");
        }
    }

    #[test]
    fn provider_model_names_may_have_an_organisation_and_a_tag() {
        let check = |name: &str| {
            Checks::new(10)
                .provider_model(field("model"), name)
                .finish()
        };
        for good in [
            "gpt-4o-mini",
            "meta-llama/Llama-3.1-8B-Instruct",
            "llama3:8b",
        ] {
            assert!(check(good).is_ok(), "{good:?}");
        }
        for bad in ["", "x y", "a\nb", "naïve", "a;b"] {
            let Err(ApiError::Validation(issues)) = check(bad) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(issues[0].kind, "string_pattern_mismatch", "{bad:?}");
        }
        assert!(check(&"a".repeat(MAX_PROVIDER_MODEL_CHARS)).is_ok());
        assert!(check(&"a".repeat(MAX_PROVIDER_MODEL_CHARS + 1)).is_err());
    }

    #[test]
    fn every_failing_field_is_reported_in_one_error_with_its_location() {
        let Err(ApiError::Validation(issues)) = Checks::new(5)
            .text(item_field("messages", 0, "content"), "ok")
            .text(item_field("messages", 1, "content"), "too long")
            .model_id(field("model"), "a/b")
            .finish()
        else {
            panic!("expected a validation error");
        };
        let locs: Vec<_> = issues.iter().map(|i| json!(i.loc)).collect();
        assert_eq!(
            locs,
            [
                json!(["body", "messages", 1, "content"]),
                json!(["body", "model"])
            ]
        );
    }
}
