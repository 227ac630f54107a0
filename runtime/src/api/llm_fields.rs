//! Field parsers the LLM endpoints add to [`crate::extract::parse`]: bounded
//! numbers and booleans with pydantic v2's error types and messages; and the
//! input limits both LLM routes apply to their texts and model name.

use hermes_engine::llm::Message;
use serde_json::{Value, json};

use crate::error::{ApiError, ValidationIssue};
use crate::extract::{Issues, Loc, parse};
use crate::protection::input;

/// The prompt and every message's content within `max_chars` characters, and
/// the model override a provider's model name; every failure in one 422.
pub fn check_inputs(
    prompt: Option<&str>,
    messages: &[Message],
    model: Option<&str>,
    max_chars: usize,
) -> Result<(), ApiError> {
    let mut checks = input::Checks::new(max_chars);
    if let Some(prompt) = prompt {
        checks.text(input::field("prompt"), prompt);
    }
    for (i, message) in messages.iter().enumerate() {
        checks.text(
            input::item_field("messages", i, "content"),
            &message.content,
        );
    }
    if let Some(model) = model.filter(|m| !m.trim().is_empty()) {
        checks.provider_model(input::field("model"), model);
    }
    checks.finish()
}

/// `float` with `ge`/`le` bounds (`Field(ge=.., le=..)`).
pub fn number_in(ge: f64, le: f64) -> impl FnOnce(&Value, &Loc, &mut Issues) -> Option<f64> {
    move |value, loc, issues| {
        let n = parse::number(value, loc, issues)?;
        if n < ge {
            issues.push(bound_issue(
                loc,
                value,
                "greater_than_equal",
                "greater than or equal to",
                "ge",
                ge,
            ));
            None
        } else if n > le {
            issues.push(bound_issue(
                loc,
                value,
                "less_than_equal",
                "less than or equal to",
                "le",
                le,
            ));
            None
        } else {
            Some(n)
        }
    }
}

/// `int` with a lower bound (`Field(ge=..)`).
pub fn integer_at_least(ge: i64) -> impl FnOnce(&Value, &Loc, &mut Issues) -> Option<i64> {
    move |value, loc, issues| {
        let n = parse::integer(value, loc, issues)?;
        if n < ge {
            issues.push(ValidationIssue {
                loc: loc.clone(),
                msg: format!("Input should be greater than or equal to {ge}"),
                kind: "greater_than_equal",
                input: value.clone(),
                ctx: Some(json!({ "ge": ge })),
            });
            return None;
        }
        Some(n)
    }
}

/// `max_tokens` above the server's cap (`HERMES_LLM_MAX_TOKENS_CAP`): pydantic's
/// `less_than_equal` issue naming the cap, at `loc` (`["body", "max_tokens"]`).
pub fn above_cap(max_tokens: Option<i64>, cap: usize, loc: Loc) -> Option<ValidationIssue> {
    let n = max_tokens?;
    (usize::try_from(n).map_or(true, |n| n > cap)).then(|| ValidationIssue {
        loc,
        msg: format!(
            "Input should be less than or equal to {cap} (this server's HERMES_LLM_MAX_TOKENS_CAP)"
        ),
        kind: "less_than_equal",
        input: json!(n),
        ctx: Some(json!({ "le": cap })),
    })
}

fn bound_issue(
    loc: &Loc,
    value: &Value,
    kind: &'static str,
    words: &str,
    key: &str,
    bound: f64,
) -> ValidationIssue {
    ValidationIssue {
        loc: loc.clone(),
        msg: format!("Input should be {words} {bound}"),
        kind,
        input: value.clone(),
        ctx: Some(json!({ key: bound })),
    }
}

/// `bool` in pydantic's lax mode: JSON booleans, 0/1 and the usual words.
pub fn boolean(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<bool> {
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    };
    if parsed.is_none() {
        issues.push(ValidationIssue {
            loc: loc.clone(),
            msg: "Input should be a valid boolean".into(),
            kind: if value.is_string() {
                "bool_parsing"
            } else {
                "bool_type"
            },
            input: value.clone(),
            ctx: None,
        });
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(
        f: impl FnOnce(&Value, &Loc, &mut Issues) -> Option<T>,
        v: Value,
    ) -> Result<T, (&'static str, String)> {
        let mut issues = Vec::new();
        match f(&v, &vec![json!("body"), json!("x")], &mut issues) {
            Some(t) if issues.is_empty() => Ok(t),
            _ => Err((issues[0].kind, issues[0].msg.clone())),
        }
    }

    #[test]
    fn bounds_give_pydantic_types_and_messages() {
        assert_eq!(check(number_in(0.0, 2.0), json!(0.7)), Ok(0.7));
        assert_eq!(check(number_in(0.0, 2.0), json!(2)), Ok(2.0));
        assert_eq!(
            check(number_in(0.0, 2.0), json!(5)),
            Err((
                "less_than_equal",
                "Input should be less than or equal to 2".into()
            ))
        );
        assert_eq!(
            check(number_in(0.0, 2.0), json!(-1)),
            Err((
                "greater_than_equal",
                "Input should be greater than or equal to 0".into()
            ))
        );
        assert_eq!(
            check(number_in(0.0, 2.0), json!("hot")).unwrap_err().0,
            "float_parsing"
        );
        assert_eq!(
            check(integer_at_least(1), json!(0)),
            Err((
                "greater_than_equal",
                "Input should be greater than or equal to 1".into()
            ))
        );
        assert_eq!(check(integer_at_least(1), json!(16)), Ok(16));
    }

    #[test]
    fn max_tokens_above_the_cap_is_an_issue_naming_the_cap() {
        let loc = || vec![json!("body"), json!("max_tokens")];
        assert_eq!(above_cap(None, 2048, loc()), None);
        assert_eq!(above_cap(Some(2048), 2048, loc()), None);
        let issue = above_cap(Some(1_000_000_000), 2048, loc()).unwrap();
        assert_eq!(issue.kind, "less_than_equal");
        assert!(issue.msg.contains("2048"), "{}", issue.msg);
        assert_eq!(issue.ctx, Some(json!({ "le": 2048 })));
        assert_eq!(issue.loc, loc());
    }

    #[test]
    fn booleans_are_lax_like_pydantic() {
        assert_eq!(check(boolean, json!(true)), Ok(true));
        assert_eq!(check(boolean, json!("false")), Ok(false));
        assert_eq!(check(boolean, json!(1)), Ok(true));
        assert_eq!(
            check(boolean, json!("maybe")).unwrap_err().0,
            "bool_parsing"
        );
        assert_eq!(check(boolean, json!([])).unwrap_err().0, "bool_type");
    }
}
