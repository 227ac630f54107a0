//! spaCy's attribute ruler as en_core_web_sm configures it: token patterns on TAG/LOWER/IS_SPACE (and DEP) setting POS, MORPH and LEMMA.
//!
//! The pipeline runs no dependency parser, so the few DEP conditions are evaluated against a
//! guessed label (`guess_dep`): auxiliary versus main verb, determiner versus pronoun, expletive "there".

use crate::NlpError;
use crate::msgpack::{self, Value};
use fancy_regex::Regex;
use std::path::Path;

/// The values a token pattern compares against.
pub struct TokenView<'a> {
    pub lower: &'a str,
    pub tag: &'a str,
    pub is_space: bool,
}

/// Attributes a rule sets; `None` leaves the current value.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    pub pos: Option<String>,
    pub morph: Option<String>,
    pub lemma: Option<String>,
    pub tag: Option<String>,
}

enum Cond {
    Eq(String),
    Bool(bool),
    In(Vec<String>),
    NotIn(Vec<String>),
    Regex(Regex),
}

impl Cond {
    fn parse(v: &Value) -> Result<Cond, NlpError> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        if let Some(s) = v.as_str() {
            return Ok(Cond::Eq(s.to_string()));
        }
        if let Some(b) = v.as_bool() {
            return Ok(Cond::Bool(b));
        }
        if let Some(x) = v.get("IN") {
            return Ok(Cond::In(strings(x)));
        }
        if let Some(x) = v.get("NOT_IN") {
            return Ok(Cond::NotIn(strings(x)));
        }
        if let Some(r) = v.get("REGEX").and_then(Value::as_str) {
            return Regex::new(r)
                .map(Cond::Regex)
                .map_err(|e| NlpError::Format(format!("attribute ruler regex {r:?}: {e}")));
        }
        Err(NlpError::Format(format!(
            "unsupported attribute ruler condition {v:?}"
        )))
    }
    fn test_str(&self, s: &str) -> bool {
        match self {
            Cond::Eq(x) => x == s,
            Cond::Bool(_) => false,
            Cond::In(xs) => xs.iter().any(|x| x == s),
            Cond::NotIn(xs) => !xs.iter().any(|x| x == s),
            Cond::Regex(re) => re.is_match(s).unwrap_or(false),
        }
    }
}

enum Key {
    Tag,
    Lower,
    IsSpace,
    Dep,
}

struct Rule {
    patterns: Vec<Vec<Vec<(Key, Cond)>>>,
    attrs: Attrs,
    index: i64,
}

/// The ordered rules of the package's `attribute_ruler/patterns`.
pub struct AttributeRuler {
    rules: Vec<Rule>,
}

impl AttributeRuler {
    pub fn load(path: &Path) -> Result<Self, NlpError> {
        let bytes = std::fs::read(path).map_err(|e| NlpError::io(path, e))?;
        let root = msgpack::decode(&bytes, &path.display().to_string())?;
        let mut rules = Vec::new();
        for r in root
            .as_array()
            .ok_or_else(|| NlpError::Format("attribute ruler: not a list".into()))?
        {
            let mut patterns = Vec::new();
            for pat in r.get("patterns").and_then(Value::as_array).unwrap_or(&[]) {
                let mut toks = Vec::new();
                for t in pat.as_array().unwrap_or(&[]) {
                    let mut conds = Vec::new();
                    for (k, v) in t.as_map().unwrap_or(&[]) {
                        let key = match k.as_str() {
                            Some("TAG") => Key::Tag,
                            Some("LOWER") => Key::Lower,
                            Some("IS_SPACE") => Key::IsSpace,
                            Some("DEP") => Key::Dep,
                            other => {
                                return Err(NlpError::Format(format!(
                                    "attribute ruler key {other:?} unsupported"
                                )));
                            }
                        };
                        conds.push((key, Cond::parse(v)?));
                    }
                    toks.push(conds);
                }
                patterns.push(toks);
            }
            let mut attrs = Attrs::default();
            for (k, v) in r.get("attrs").and_then(Value::as_map).unwrap_or(&[]) {
                let v = v.as_str().map(str::to_string);
                match k.as_str() {
                    Some("POS") => attrs.pos = v,
                    Some("MORPH") => attrs.morph = v,
                    Some("LEMMA") => attrs.lemma = v,
                    Some("TAG") => attrs.tag = v,
                    _ => {}
                }
            }
            let index = r.get("index").and_then(Value::as_int).unwrap_or(0) as i64;
            rules.push(Rule {
                patterns,
                attrs,
                index,
            });
        }
        Ok(Self { rules })
    }

    /// For each token, the attributes set by the rules in order (later rules win).
    pub fn apply(&self, toks: &[TokenView<'_>]) -> Vec<Attrs> {
        let deps: Vec<&'static str> = (0..toks.len()).map(|i| guess_dep(toks, i)).collect();
        let mut out = vec![Attrs::default(); toks.len()];
        for rule in &self.rules {
            let mut targets = Vec::new();
            for pat in &rule.patterns {
                let len = pat.len();
                if len == 0 || len > toks.len() {
                    continue;
                }
                for start in 0..=toks.len() - len {
                    let ok = pat.iter().enumerate().all(|(j, conds)| {
                        let t = &toks[start + j];
                        conds.iter().all(|(k, c)| match k {
                            Key::Tag => c.test_str(t.tag),
                            Key::Lower => c.test_str(t.lower),
                            Key::IsSpace => matches!(c, Cond::Bool(b) if *b == t.is_space),
                            Key::Dep => c.test_str(deps[start + j]),
                        })
                    });
                    if ok {
                        let idx = if rule.index < 0 {
                            len as i64 + rule.index
                        } else {
                            rule.index
                        };
                        if (0..len as i64).contains(&idx) {
                            targets.push(start + idx as usize);
                        }
                    }
                }
            }
            for i in targets {
                let a = &mut out[i];
                if rule.attrs.pos.is_some() {
                    a.pos.clone_from(&rule.attrs.pos);
                }
                if rule.attrs.morph.is_some() {
                    a.morph.clone_from(&rule.attrs.morph);
                }
                if rule.attrs.lemma.is_some() {
                    a.lemma.clone_from(&rule.attrs.lemma);
                }
                if rule.attrs.tag.is_some() {
                    a.tag.clone_from(&rule.attrs.tag);
                }
            }
        }
        out
    }
}

fn is_verb_tag(tag: &str) -> bool {
    tag.starts_with("VB") || tag == "MD"
}

/// Forms that can be auxiliaries in English.
const AUX_FORMS: &[&str] = &[
    "be", "am", "is", "are", "was", "were", "been", "being", "'s", "'re", "'m", "’s", "’re", "’m",
    "have", "has", "had", "having", "'ve", "’ve", "'d", "’d", "do", "does", "did", "will", "would",
    "shall", "should", "can", "could", "may", "might", "must", "ca", "wo", "sha", "get", "gets",
    "got", "getting",
];

/// Whether the verb at `i` is an auxiliary: an auxiliary form with a verb before the clause ends.
fn looks_auxiliary(toks: &[TokenView<'_>], i: usize) -> bool {
    if !AUX_FORMS.contains(&toks[i].lower) {
        return false;
    }
    for t in toks.iter().skip(i + 1).take(6) {
        match t.tag {
            "VB" | "VBN" | "VBG" | "VBD" | "VBZ" | "VBP" => return true,
            "RB" | "RBR" | "RBS" | "PRP" | "DT" | "NN" | "NNS" | "NNP" | "NNPS" | "JJ" | "JJR"
            | "JJS" | "PDT" | "PRP$" | "POS" | "IN" | "CD" => {}
            _ => return false,
        }
    }
    false
}

/// A dependency label guessed from the tags around a token, for the rules that test DEP.
fn guess_dep(toks: &[TokenView<'_>], i: usize) -> &'static str {
    let t = &toks[i];
    if t.tag == "EX" {
        return "expl";
    }
    if t.tag == "MD" {
        return "aux";
    }
    if is_verb_tag(t.tag) {
        return if looks_auxiliary(toks, i) {
            "aux"
        } else {
            "ROOT"
        };
    }
    if matches!(t.tag, "DT" | "WDT") {
        // a determiner unless a verb, a clause boundary or the end follows
        let next = toks.get(i + 1).map_or("", |n| n.tag);
        let pronoun = next.is_empty()
            || is_verb_tag(next)
            || matches!(
                next,
                "." | "," | ":" | "IN" | "CC" | "TO" | "WDT" | "WP" | "DT" | "-RRB-" | "''"
            );
        return if pronoun { "nsubj" } else { "det" };
    }
    if t.tag == "IN" {
        // a subordinating conjunction when a subject and a finite verb follow, and the
        // preposition does not continue a noun phrase
        let prev = if i > 0 { toks[i - 1].tag } else { "" };
        let after_noun = matches!(
            prev,
            "NN" | "NNS"
                | "NNP"
                | "NNPS"
                | "CD"
                | "PRP"
                | "JJ"
                | "JJS"
                | "JJR"
                | "RBS"
                | "WDT"
                | "WP"
                | "DT"
        );
        let starts_clause = toks.get(i + 1).is_some_and(|n| {
            matches!(n.tag, "PRP" | "EX")
                || (!after_noun && matches!(n.tag, "NNP" | "NNPS" | "NN" | "NNS" | "DT"))
        });
        let finite_verb = toks
            .iter()
            .skip(i + 2)
            .take(4)
            .take_while(|n| !matches!(n.tag, "." | "," | ":" | "IN" | "CC" | "WDT" | "WP" | "WRB"))
            .any(|n| matches!(n.tag, "VBZ" | "VBP" | "VBD" | "MD"));
        return if starts_clause && finite_verb {
            "mark"
        } else {
            "prep"
        };
    }
    if t.tag == "PRP" {
        let prev = if i > 0 { toks[i - 1].tag } else { "" };
        return if is_verb_tag(prev) {
            "dobj"
        } else if prev == "IN" {
            "pobj"
        } else {
            "nsubj"
        };
    }
    "dep"
}
