//! A bounded excerpt of a JSON value, so that an error never echoes a large body.

use serde_json::{Map, Value, json};

/// Characters of a string kept in an echoed `input`.
pub const EXCERPT_CHARS: usize = 100;
/// Items of a list (or entries of an object) kept in an echoed `input`.
const EXCERPT_ITEMS: usize = 10;
/// Nesting kept in an echoed `input`.
const EXCERPT_DEPTH: usize = 3;

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
    fn excerpts_are_bounded() {
        let big = json!({"text": "x".repeat(1_000_000), "list": (0..1000).collect::<Vec<_>>()});
        let cut = excerpt(&big);
        assert!(cut.to_string().len() < 1000, "{}", cut.to_string().len());
        assert_eq!(cut["list"].as_array().map(Vec::len), Some(EXCERPT_ITEMS));
        assert_eq!(excerpt(&json!("short")), json!("short"));
    }
}
