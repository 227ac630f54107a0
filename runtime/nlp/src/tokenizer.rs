//! spaCy's rule-based tokenizer: whitespace split, prefix/suffix/infix rules, special cases and URL match, from the package's `tokenizer` file.

use crate::NlpError;
use crate::msgpack::{self, Value};
use fancy_regex::Regex;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// spaCy's attribute ids used in tokenizer exceptions.
const ATTR_ORTH: i128 = 65;
const ATTR_NORM: i128 = 67;

/// Characters before the end of a span where the suffix search starts (see `find_suffix`).
const SUFFIX_WINDOW: usize = 64;

/// One token: its text, byte offset in the input, whether a space follows, and a special-case norm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub space_after: bool,
    pub norm: Option<String>,
}

#[derive(Debug, Clone)]
struct SpecialToken {
    orth: String,
    norm: Option<String>,
}

/// The English tokenizer with the rules of one spaCy package.
pub struct Tokenizer {
    prefix: Option<Regex>,
    suffix: Option<Regex>,
    infix: Option<Regex>,
    url: Option<Regex>,
    specials: HashMap<String, Vec<SpecialToken>>,
    /// Special cases that affix splitting can break apart; re-joined after splitting.
    matcher_keys: HashSet<String>,
    matcher_max_tokens: usize,
}

/// Python's `str.isspace`.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn compile(value: Option<&Value>, name: &str) -> Result<Option<Regex>, NlpError> {
    match value.and_then(Value::as_str) {
        None | Some("") => Ok(None),
        Some(pattern) => Regex::new(pattern)
            .map(Some)
            .map_err(|e| NlpError::Format(format!("tokenizer {name} pattern: {e}"))),
    }
}

struct Piece<'a> {
    text: &'a str,
    special: Option<&'a SpecialToken>,
}

impl Tokenizer {
    pub fn load(path: &Path) -> Result<Self, NlpError> {
        let bytes = std::fs::read(path).map_err(|e| NlpError::io(path, e))?;
        let root = msgpack::decode(&bytes, &path.display().to_string())?;
        let mut tok = Tokenizer {
            // every prefix alternative starts with `^`; anchoring the whole alternation lets
            // the matcher stop at position 0 instead of trying every start position
            prefix: compile(
                root.get("prefix_search")
                    .and_then(Value::as_str)
                    .map(|p| Value::Str(format!("^(?:{p})")))
                    .as_ref(),
                "prefix",
            )?,
            suffix: compile(root.get("suffix_search"), "suffix")?,
            infix: compile(root.get("infix_finditer"), "infix")?,
            url: compile(root.get("url_match"), "url")?,
            specials: HashMap::new(),
            matcher_keys: HashSet::new(),
            matcher_max_tokens: 0,
        };
        if root
            .get("token_match")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(NlpError::Format(
                "tokenizer token_match is not supported".into(),
            ));
        }
        let rules = root
            .get("exceptions")
            .and_then(Value::as_map)
            .ok_or_else(|| NlpError::Format("tokenizer has no exceptions".into()))?;
        for (key, subs) in rules {
            let key = key
                .as_str()
                .ok_or_else(|| NlpError::Format("bad exception key".into()))?;
            let mut toks = Vec::new();
            for sub in subs.as_array().unwrap_or(&[]) {
                let mut orth = None;
                let mut norm = None;
                for (attr, val) in sub.as_map().unwrap_or(&[]) {
                    match attr.as_int() {
                        Some(ATTR_ORTH) => orth = val.as_str().map(str::to_string),
                        Some(ATTR_NORM) => norm = val.as_str().map(str::to_string),
                        _ => {}
                    }
                }
                let orth = orth
                    .ok_or_else(|| NlpError::Format(format!("exception {key:?} without ORTH")))?;
                toks.push(SpecialToken { orth, norm });
            }
            tok.specials.insert(key.to_string(), toks);
        }
        // faster_heuristics: only special cases with an affix or a space go to the matcher.
        let keys: Vec<String> = tok.specials.keys().cloned().collect();
        for key in keys {
            if tok.find_prefix(&key) > 0
                || tok.find_infix(&key).next().is_some()
                || tok.find_suffix(&key) > 0
                || key.contains(' ')
            {
                let n = tok.tokenize_affixes(&key, false).len();
                tok.matcher_max_tokens = tok.matcher_max_tokens.max(n);
                tok.matcher_keys.insert(key);
            }
        }
        Ok(tok)
    }

    fn find_prefix(&self, s: &str) -> usize {
        match &self.prefix {
            Some(re) => re.find(s).ok().flatten().map_or(0, |m| m.end() - m.start()),
            None => 0,
        }
    }
    /// The length of the suffix match. Searching a whole long span for a match that must
    /// end at its end costs time linear in the span, and affix splitting repeats it per
    /// stripped piece; so the search starts SUFFIX_WINDOW characters before the end (the
    /// regex still sees the text before, for lookbehinds). A match cannot start earlier
    /// unless it is longer than the window: of en_core_web_sm's suffix alternatives only
    /// `\.\.+$` is, and it then also matches at the window's first character, in which
    /// case the whole span is searched.
    fn find_suffix(&self, s: &str) -> usize {
        let Some(re) = &self.suffix else { return 0 };
        let from = s
            .char_indices()
            .rev()
            .nth(SUFFIX_WINDOW - 1)
            .map_or(0, |(i, _)| i);
        if from > 0 {
            match re.find_from_pos(s, from) {
                Ok(Some(m)) if m.start() > from => return m.end() - m.start(),
                Ok(None) => return 0,
                _ => {}
            }
        }
        re.find(s).ok().flatten().map_or(0, |m| m.end() - m.start())
    }
    fn find_infix<'a>(&'a self, s: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.infix
            .iter()
            .flat_map(move |re| re.find_iter(s))
            .filter_map(|m| m.ok())
            .map(|m| (m.start(), m.end()))
    }
    fn url_match(&self, s: &str) -> bool {
        match &self.url {
            Some(re) => re.find(s).ok().flatten().is_some_and(|m| m.start() == 0),
            None => false,
        }
    }

    /// Tokenizes a text as spaCy's `Tokenizer.__call__` does.
    pub fn tokenize(&self, text: &str) -> Vec<Token> {
        let mut tokens = self.tokenize_affixes(text, true);
        self.apply_special_cases(&mut tokens);
        tokens
    }

    /// The whitespace and affix pass (`_tokenize_affixes`).
    fn tokenize_affixes(&self, text: &str, with_special: bool) -> Vec<Token> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut chars = text.char_indices().peekable();
        let Some(&(_, first)) = chars.peek() else {
            return tokens;
        };
        let mut in_ws = py_isspace(first);
        let mut start = 0usize;
        for (i, c) in text.char_indices() {
            if py_isspace(c) != in_ws {
                if start < i {
                    self.tokenize_span(&text[start..i], start, &mut tokens, with_special);
                }
                if c == ' ' {
                    if let Some(last) = tokens.last_mut() {
                        last.space_after = true;
                    }
                    start = i + 1;
                } else {
                    start = i;
                }
                in_ws = !in_ws;
            }
        }
        if start < text.len() {
            self.tokenize_span(&text[start..], start, &mut tokens, with_special);
            if let Some(last) = tokens.last_mut() {
                last.space_after = text.ends_with(' ') && !in_ws;
            }
        }
        tokens
    }

    fn push_pieces(&self, pieces: Vec<Piece<'_>>, offset: usize, out: &mut Vec<Token>) {
        let mut pos = offset;
        for p in pieces {
            match p.special {
                Some(sp) => {
                    out.push(Token {
                        text: sp.orth.clone(),
                        start: pos,
                        space_after: false,
                        norm: sp.norm.clone(),
                    });
                    pos += sp.orth.len();
                }
                None => {
                    out.push(Token {
                        text: p.text.to_string(),
                        start: pos,
                        space_after: false,
                        norm: None,
                    });
                    pos += p.text.len();
                }
            }
        }
    }

    fn special_pieces<'a>(&'a self, s: &'a str, with_special: bool) -> Option<Vec<Piece<'a>>> {
        if !with_special {
            return None;
        }
        self.specials.get(s).map(|toks| {
            toks.iter()
                .map(|t| Piece {
                    text: &t.orth,
                    special: Some(t),
                })
                .collect()
        })
    }

    fn is_special(&self, s: &str, with_special: bool) -> bool {
        with_special && self.specials.contains_key(s)
    }

    /// One whitespace-delimited span (`_tokenize`: split affixes, then attach).
    fn tokenize_span(&self, span: &str, offset: usize, out: &mut Vec<Token>, with_special: bool) {
        if let Some(p) = self.special_pieces(span, with_special) {
            self.push_pieces(p, offset, out);
            return;
        }
        let mut prefixes: Vec<&str> = Vec::new();
        let mut suffixes: Vec<&str> = Vec::new();
        let mut s = span;
        let mut last_size = usize::MAX;
        while !s.is_empty() && s.len() != last_size {
            if self.is_special(s, with_special) {
                break;
            }
            last_size = s.len();
            let pre_len = self.find_prefix(s);
            if pre_len != 0 {
                let minus_pre = &s[pre_len..];
                if !minus_pre.is_empty() && self.is_special(minus_pre, with_special) {
                    prefixes.push(&s[..pre_len]);
                    s = minus_pre;
                    break;
                }
            }
            let suf_len = self.find_suffix(&s[pre_len..]);
            if suf_len != 0 {
                let minus_suf = &s[..s.len() - suf_len];
                if !minus_suf.is_empty() && self.is_special(minus_suf, with_special) {
                    suffixes.push(&s[s.len() - suf_len..]);
                    s = minus_suf;
                    break;
                }
            }
            if pre_len != 0 && suf_len != 0 && pre_len + suf_len <= s.len() {
                prefixes.push(&s[..pre_len]);
                suffixes.push(&s[s.len() - suf_len..]);
                s = &s[pre_len..s.len() - suf_len];
            } else if pre_len != 0 {
                prefixes.push(&s[..pre_len]);
                s = &s[pre_len..];
            } else if suf_len != 0 {
                suffixes.push(&s[s.len() - suf_len..]);
                s = &s[..s.len() - suf_len];
            }
            if !s.is_empty() && self.is_special(s, with_special) {
                break;
            }
        }
        // _attach_tokens
        let mut pieces: Vec<Piece<'_>> = prefixes
            .iter()
            .map(|p| Piece {
                text: p,
                special: None,
            })
            .collect();
        if !s.is_empty() {
            if let Some(p) = self.special_pieces(s, with_special) {
                pieces.extend(p);
            } else if self.url_match(s) {
                pieces.push(Piece {
                    text: s,
                    special: None,
                });
            } else {
                let mut start = 0;
                let mut any = false;
                for (istart, iend) in self.find_infix(s) {
                    any = true;
                    if istart == 0 {
                        continue;
                    }
                    if istart != start {
                        pieces.push(Piece {
                            text: &s[start..istart],
                            special: None,
                        });
                    }
                    if istart != iend {
                        pieces.push(Piece {
                            text: &s[istart..iend],
                            special: None,
                        });
                    }
                    start = iend;
                }
                if !any {
                    pieces.push(Piece {
                        text: s,
                        special: None,
                    });
                } else if start < s.len() {
                    pieces.push(Piece {
                        text: &s[start..],
                        special: None,
                    });
                }
            }
        }
        pieces.extend(suffixes.iter().rev().map(|p| Piece {
            text: p,
            special: None,
        }));
        self.push_pieces(pieces, offset, out);
    }

    /// Re-joins special cases that affix splitting broke apart (spaCy's special-case matcher).
    fn apply_special_cases(&self, tokens: &mut Vec<Token>) {
        if self.matcher_keys.is_empty() || tokens.is_empty() {
            return;
        }
        let mut matches: Vec<(usize, usize)> = Vec::new();
        for start in 0..tokens.len() {
            let mut text = String::new();
            for end in start + 1..=(start + self.matcher_max_tokens).min(tokens.len()) {
                text.push_str(&tokens[end - 1].text);
                if self.matcher_keys.contains(&text) {
                    matches.push((start, end));
                }
                if tokens[end - 1].space_after {
                    break;
                }
            }
        }
        if matches.is_empty() {
            return;
        }
        // longest first, later start first among equals; a match may not start or end on a seen token
        matches.sort_by_key(|&(s, e)| (e - s, s));
        let mut seen = vec![false; tokens.len()];
        let mut chosen = Vec::new();
        for &(s, e) in matches.iter().rev() {
            if !seen[s] && !seen[e - 1] {
                chosen.push((s, e));
            }
            for flag in &mut seen[s..e] {
                *flag = true;
            }
        }
        chosen.sort();
        let old = std::mem::take(tokens);
        let mut i = 0;
        let mut next = chosen.into_iter().peekable();
        while i < old.len() {
            match next.peek() {
                Some(&(s, e)) if s == i => {
                    next.next();
                    let text: String = old[s..e].iter().map(|t| t.text.as_str()).collect();
                    let Some(special) = self.specials.get(&text) else {
                        tokens.extend_from_slice(&old[s..e]);
                        i = e;
                        continue;
                    };
                    let mut pos = old[s].start;
                    for sp in special {
                        tokens.push(Token {
                            text: sp.orth.clone(),
                            start: pos,
                            space_after: false,
                            norm: sp.norm.clone(),
                        });
                        pos += sp.orth.len();
                    }
                    if let Some(last) = tokens.last_mut() {
                        last.space_after = old[e - 1].space_after;
                    }
                    i = e;
                }
                _ => {
                    tokens.push(old[i].clone());
                    i += 1;
                }
            }
        }
    }
}
