//! spaCy's string ids: the fixed symbol table first, else the string's hash; lexeme attributes (norm, prefix, suffix, shape).

use crate::hash::hash_string;
use crate::symbols::{BASE_NORMS, SYMBOLS};
use std::collections::HashMap;
use std::sync::OnceLock;

fn symbols() -> &'static HashMap<&'static str, u64> {
    static MAP: OnceLock<HashMap<&'static str, u64>> = OnceLock::new();
    MAP.get_or_init(|| SYMBOLS.iter().copied().collect())
}

/// spaCy's `get_string_id`: 0 for "", the symbol id for symbol names, else the hash.
pub fn string_id(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    symbols().get(s).copied().unwrap_or_else(|| hash_string(s))
}

/// spaCy's BASE_NORMS entry for a string.
pub fn base_norm(s: &str) -> Option<&'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| BASE_NORMS.iter().copied().collect())
        .get(s)
        .copied()
}

/// The first character (`Lexeme.prefix`).
pub fn prefix(s: &str) -> &str {
    s.char_indices().nth(1).map_or(s, |(i, _)| &s[..i])
}

/// The last three characters (`Lexeme.suffix`).
pub fn suffix(s: &str) -> &str {
    let n = s.chars().count();
    if n <= 3 {
        return s;
    }
    let skip = s.char_indices().nth(n - 3).map_or(0, |(i, _)| i);
    &s[skip..]
}

/// spaCy's `word_shape`: Xxxx/dd patterns with runs capped at four.
pub fn word_shape(text: &str) -> String {
    if text.chars().count() >= 100 {
        return "LONG".into();
    }
    let mut shape = String::new();
    let mut last: Option<char> = None;
    let mut seq = 0;
    for c in text.chars() {
        let sc = if c.is_alphabetic() {
            if c.is_uppercase() { 'X' } else { 'x' }
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if Some(sc) == last {
            seq += 1;
        } else {
            seq = 0;
            last = Some(sc);
        }
        if seq < 4 {
            shape.push(sc);
        }
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexeme_attributes_match_spacy() {
        assert_eq!(word_shape("Apple"), "Xxxxx");
        assert_eq!(word_shape("1,000,000"), "d,ddd,ddd");
        assert_eq!(word_shape("Hello-World99"), "Xxxxx-Xxxxxdd");
        assert_eq!(prefix("été"), "é");
        assert_eq!(suffix("naïve"), "ïve");
        assert_eq!(suffix("ab"), "ab");
        assert_eq!(string_id("punct"), 445);
        assert_eq!(string_id(""), 0);
        assert_eq!(base_norm("’s"), Some("'s"));
    }
}
