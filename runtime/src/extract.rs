//! The JSON body extractor: reads the body as FastAPI does and validates it with
//! pydantic v2's rules and error shapes, so schema errors are 422s whose `detail`
//! lists every problem (`loc`, `msg`, `type`, `input`).
//!
//! A request type implements [`FromJsonBody`] by reading its fields through
//! [`Fields`] with the parsers of [`parse`]; each failure is recorded, not returned,
//! so one response reports every invalid field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ValidationIssue};

/// Location of a value: `["body", "text"]`.
pub type Loc = Vec<Value>;
/// Where parsers record problems.
pub type Issues = Vec<ValidationIssue>;

/// A request body type validated like a pydantic model.
pub trait FromJsonBody: Sized {
    /// The model's class name, used in nested `model_type` errors.
    const NAME: &'static str;
    /// Reads the fields; returns `None` when any was invalid (and recorded).
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self>;
}

/// `ValidJson<T>`: the body parsed as JSON and validated into `T`, or a 422.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: FromJsonBody> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        let value = parse_body(content_type.as_deref(), &bytes)?;
        validate_body(&value).map(ValidJson)
    }
}

/// The body as FastAPI sees it: absent -> missing; JSON (no content type, or
/// `application/json`, `application/*+json`) -> parsed; anything else -> the raw
/// text, which no model accepts.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::Validation(vec![ValidationIssue {
            loc: vec![json!("body")],
            msg: "Field required".into(),
            kind: "missing",
            input: Value::Null,
            ctx: None,
        }]));
    }
    if !content_type.is_none_or(is_json_media_type) {
        return Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Validation(vec![ValidationIssue {
            loc: vec![json!("body"), json!(error_offset(bytes, &e))],
            msg: "JSON decode error".into(),
            kind: "json_invalid",
            input: json!({}),
            ctx: Some(json!({ "error": json_error_message(&e) })),
        }])
    })
}

fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

/// serde_json's message without its " at line L column C" suffix.
fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Where the JSON error is, like Python's `JSONDecodeError.pos`: the end for a
/// truncated document, else the offending character.
fn error_offset(bytes: &[u8], e: &serde_json::Error) -> usize {
    if e.is_eof() {
        bytes.len()
    } else {
        byte_offset(bytes, e.line(), e.column())
    }
}

/// Offset of (1-based line, column) in `bytes`.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = bytes
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// Validates a parsed body as the model `T` (the body must be an object).
pub fn validate_body<T: FromJsonBody>(value: &Value) -> Result<T, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::Validation(vec![ValidationIssue {
            loc: vec![json!("body")],
            msg: "Input should be a valid dictionary or object to extract fields from".into(),
            kind: "model_attributes_type",
            input: value.clone(),
            ctx: None,
        }]));
    };
    let mut issues = Vec::new();
    let parsed = {
        let mut fields = Fields::new(map, vec![json!("body")], &mut issues);
        T::from_fields(&mut fields)
    };
    match parsed {
        Some(model) if issues.is_empty() => Ok(model),
        Some(_) | None if !issues.is_empty() => Err(ApiError::Validation(issues)),
        _ => Err(ApiError::Internal(format!(
            "{} validation failed without recording why",
            T::NAME
        ))),
    }
}

/// The fields of one JSON object being validated.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    loc: Loc,
    issues: &'a mut Issues,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, loc: Loc, issues: &'a mut Issues) -> Self {
        Self { map, loc, issues }
    }

    fn loc_of(&self, name: &str) -> Loc {
        let mut loc = self.loc.clone();
        loc.push(json!(name));
        loc
    }

    /// A field that must be present; `parse` checks its value.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value, &Loc, &mut Issues) -> Option<T>,
    ) -> Option<T> {
        let loc = self.loc_of(name);
        match self.map.get(name) {
            Some(value) => parse(value, &loc, self.issues),
            None => {
                self.issues.push(ValidationIssue {
                    loc,
                    msg: "Field required".into(),
                    kind: "missing",
                    input: Value::Object(self.map.clone()),
                    ctx: None,
                });
                None
            }
        }
    }

    /// A field that may be absent or null: `Some(None)`; invalid: `None`.
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value, &Loc, &mut Issues) -> Option<T>,
    ) -> Option<Option<T>> {
        let loc = self.loc_of(name);
        match self.map.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => parse(value, &loc, self.issues).map(Some),
        }
    }

    /// A field with a default when absent (null is checked by `parse`, as pydantic does).
    pub fn with_default<T>(
        &mut self,
        name: &str,
        default: impl FnOnce() -> T,
        parse: impl FnOnce(&Value, &Loc, &mut Issues) -> Option<T>,
    ) -> Option<T> {
        let loc = self.loc_of(name);
        match self.map.get(name) {
            None => Some(default()),
            Some(value) => parse(value, &loc, self.issues),
        }
    }

    /// A model-level rule failed (pydantic `model_validator` raising `ValueError`).
    pub fn value_error(&mut self, message: &str) {
        self.issues.push(ValidationIssue {
            loc: self.loc.clone(),
            msg: format!("Value error, {message}"),
            kind: "value_error",
            input: Value::Object(self.map.clone()),
            ctx: Some(json!({ "error": {} })),
        });
    }

    /// Whether this object has a non-null value for `name`.
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }
}

/// Value parsers with pydantic v2 (lax mode) semantics and error types.
pub mod parse {
    use super::*;

    fn issue(issues: &mut Issues, loc: &Loc, kind: &'static str, msg: &str, input: &Value) {
        issues.push(ValidationIssue {
            loc: loc.clone(),
            msg: msg.into(),
            kind,
            input: input.clone(),
            ctx: None,
        });
    }

    /// `str`: only JSON strings (pydantic does not turn numbers into strings).
    pub fn string(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                issue(
                    issues,
                    loc,
                    "string_type",
                    "Input should be a valid string",
                    other,
                );
                None
            }
        }
    }

    /// `int`: integers, integral floats and numeric strings.
    pub fn integer(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<i64> {
        match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return Some(i);
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
                    _ => {
                        issue(
                            issues,
                            loc,
                            "int_from_float",
                            "Input should be a valid integer, got a number with a fractional part",
                            value,
                        );
                        None
                    }
                }
            }
            Value::String(s) => s.trim().parse().ok().or_else(|| {
                issue(
                    issues,
                    loc,
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                    value,
                );
                None
            }),
            other => {
                issue(
                    issues,
                    loc,
                    "int_type",
                    "Input should be a valid integer",
                    other,
                );
                None
            }
        }
    }

    /// `float`: numbers and numeric strings.
    pub fn number(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<f64> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok().or_else(|| {
                issue(
                    issues,
                    loc,
                    "float_parsing",
                    "Input should be a valid number, unable to parse string as a number",
                    value,
                );
                None
            }),
            other => {
                issue(
                    issues,
                    loc,
                    "float_type",
                    "Input should be a valid number",
                    other,
                );
                None
            }
        }
    }

    /// `dict`: any JSON object.
    pub fn object(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map.clone()),
            other => {
                issue(
                    issues,
                    loc,
                    "dict_type",
                    "Input should be a valid dictionary",
                    other,
                );
                None
            }
        }
    }

    /// `list[Any]`.
    pub fn any_list(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<Vec<Value>> {
        list(|v, _, _| Some(v.clone()))(value, loc, issues)
    }

    /// `list[T]` with `item` checking each element (located by index).
    pub fn list<T>(
        item: impl Fn(&Value, &Loc, &mut Issues) -> Option<T>,
    ) -> impl FnOnce(&Value, &Loc, &mut Issues) -> Option<Vec<T>> {
        move |value, loc, issues| {
            let Value::Array(items) = value else {
                issue(
                    issues,
                    loc,
                    "list_type",
                    "Input should be a valid list",
                    value,
                );
                return None;
            };
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (index, element) in items.iter().enumerate() {
                let mut element_loc = loc.clone();
                element_loc.push(json!(index));
                match item(element, &element_loc, issues) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
    }

    /// `Literal[...]`: one of `allowed`.
    pub fn literal(
        allowed: &'static [&'static str],
    ) -> impl Fn(&Value, &Loc, &mut Issues) -> Option<&'static str> {
        move |value, loc, issues| {
            if let Some(hit) = value
                .as_str()
                .and_then(|s| allowed.iter().copied().find(|a| *a == s))
            {
                return Some(hit);
            }
            let expected = expected_list(allowed);
            issues.push(ValidationIssue {
                loc: loc.clone(),
                msg: format!("Input should be {expected}"),
                kind: "literal_error",
                input: value.clone(),
                ctx: Some(json!({ "expected": expected })),
            });
            None
        }
    }

    /// `'a', 'b' or 'c'`, as pydantic words it.
    fn expected_list(allowed: &[&str]) -> String {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        }
    }

    /// A nested model.
    pub fn model<T: FromJsonBody>(value: &Value, loc: &Loc, issues: &mut Issues) -> Option<T> {
        let Value::Object(map) = value else {
            issues.push(ValidationIssue {
                loc: loc.clone(),
                msg: format!(
                    "Input should be a valid dictionary or instance of {}",
                    T::NAME
                ),
                kind: "model_type",
                input: value.clone(),
                ctx: Some(json!({ "class_name": T::NAME })),
            });
            return None;
        };
        let before = issues.len();
        let parsed = T::from_fields(&mut Fields::new(map, loc.clone(), issues));
        parsed.filter(|_| issues.len() == before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Step {
        index: i64,
        outcome: &'static str,
    }

    impl FromJsonBody for Step {
        const NAME: &'static str = "Step";
        fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
            let index = f.required("index", parse::integer);
            let outcome = f.required("outcome", parse::literal(&["success", "failure"]));
            Some(Self {
                index: index?,
                outcome: outcome?,
            })
        }
    }

    #[derive(Debug, PartialEq)]
    struct Body {
        text: String,
        tags: Vec<String>,
        steps: Option<Vec<Step>>,
    }

    impl FromJsonBody for Body {
        const NAME: &'static str = "Body";
        fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
            let text = f.required("text", parse::string);
            let tags = f.with_default("tags", Vec::new, parse::list(parse::string));
            let steps = f.optional("steps", parse::list(parse::model::<Step>));
            Some(Self {
                text: text?,
                tags: tags?,
                steps: steps?,
            })
        }
    }

    fn issues_of(body: &str) -> Vec<(Value, &'static str)> {
        let result = parse_body(Some("application/json"), body.as_bytes())
            .and_then(|v| validate_body::<Body>(&v));
        match result {
            Err(ApiError::Validation(issues)) => issues
                .into_iter()
                .map(|i| (Value::Array(i.loc), i.kind))
                .collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_bodies_parse() {
        let v = parse_body(
            None,
            br#"{"text":"hi","steps":[{"index":"2","outcome":"success"}]}"#,
        )
        .unwrap();
        let body: Body = validate_body(&v).unwrap();
        assert_eq!(
            body,
            Body {
                text: "hi".into(),
                tags: vec![],
                steps: Some(vec![Step {
                    index: 2,
                    outcome: "success"
                }])
            }
        );
    }

    #[test]
    fn every_problem_is_reported_with_pydantic_types() {
        assert_eq!(
            issues_of("{\"text\": "),
            vec![(json!(["body", 9]), "json_invalid")]
        );
        assert_eq!(
            issues_of("{\"text\": abc}"),
            vec![(json!(["body", 9]), "json_invalid")]
        );
        assert_eq!(issues_of("{}"), vec![(json!(["body", "text"]), "missing")]);
        assert_eq!(
            issues_of("[1]"),
            vec![(json!(["body"]), "model_attributes_type")]
        );
        assert_eq!(
            issues_of(
                r#"{"text": 12345, "tags": "a", "steps": [{"index": 1.5, "outcome": "meh"}, 3]}"#
            ),
            vec![
                (json!(["body", "text"]), "string_type"),
                (json!(["body", "tags"]), "list_type"),
                (json!(["body", "steps", 0, "index"]), "int_from_float"),
                (json!(["body", "steps", 0, "outcome"]), "literal_error"),
                (json!(["body", "steps", 1]), "model_type"),
            ]
        );
        assert!(matches!(
            parse_body(Some("application/json"), b""),
            Err(ApiError::Validation(ref i)) if i[0].kind == "missing"
        ));
    }

    #[test]
    fn non_json_content_types_are_not_parsed() {
        let v = parse_body(Some("text/plain"), br#"{"text":"hi"}"#).unwrap();
        assert!(matches!(
            validate_body::<Body>(&v),
            Err(ApiError::Validation(ref i)) if i[0].kind == "model_attributes_type"
        ));
        assert!(
            parse_body(
                Some("application/vnd.api+json; charset=utf-8"),
                br#"{"text":"x"}"#
            )
            .unwrap()
            .is_object()
        );
    }

    #[test]
    fn literal_messages_list_choices_like_pydantic() {
        let mut issues = Vec::new();
        let r = parse::literal(&["a", "b", "c"])(&json!("z"), &vec![json!("body")], &mut issues);
        assert_eq!(r, None);
        assert_eq!(issues[0].msg, "Input should be 'a', 'b' or 'c'");
    }
}
