//! spaCy's English rule lemmatizer (mode "rule") over the package's lemma_index / lemma_exc / lemma_rules tables.

use crate::NlpError;
use crate::msgpack::{self, Value};
use crate::strings::string_id;
use std::collections::{HashMap, HashSet};
use std::path::Path;

#[derive(Default)]
struct PosTables {
    index: HashSet<String>,
    exceptions: HashMap<String, Vec<String>>,
    rules: Vec<(String, String)>,
}

/// The rule lemmatizer's tables, per coarse POS.
pub struct Lemmatizer {
    by_pos: HashMap<u64, PosTables>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Reads a spaCy `lookups.bin`: table name -> {string id -> value}.
pub fn read_lookups(path: &Path) -> Result<HashMap<String, Vec<(u64, Value)>>, NlpError> {
    let bytes = std::fs::read(path).map_err(|e| NlpError::io(path, e))?;
    let root = msgpack::decode(&bytes, &path.display().to_string())?;
    let mut out = HashMap::new();
    for (name, table) in root.as_map().unwrap_or(&[]) {
        let name = name.as_str().unwrap_or_default().to_string();
        let entries = table
            .as_map()
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| k.as_int().map(|k| (k as u64, v.clone())))
            .collect();
        out.insert(name, entries);
    }
    Ok(out)
}

/// Python's `str.isalpha` on a whole string (non-empty, all letters).
fn py_isalpha(s: &str) -> bool {
    !s.is_empty() && s.chars().all(char::is_alphabetic)
}

impl Lemmatizer {
    pub fn load(path: &Path) -> Result<Self, NlpError> {
        let tables = read_lookups(path)?;
        let mut by_pos: HashMap<u64, PosTables> = HashMap::new();
        for (k, v) in tables.get("lemma_index").into_iter().flatten() {
            by_pos.entry(*k).or_default().index = strings(v).into_iter().collect();
        }
        for (k, v) in tables.get("lemma_exc").into_iter().flatten() {
            let exc = v
                .as_map()
                .unwrap_or(&[])
                .iter()
                .filter_map(|(w, forms)| w.as_str().map(|w| (w.to_string(), strings(forms))))
                .collect();
            by_pos.entry(*k).or_default().exceptions = exc;
        }
        for (k, v) in tables.get("lemma_rules").into_iter().flatten() {
            let rules = v
                .as_array()
                .unwrap_or(&[])
                .iter()
                .filter_map(|r| {
                    let r = strings(r);
                    (r.len() == 2).then(|| (r[0].clone(), r[1].clone()))
                })
                .collect();
            by_pos.entry(*k).or_default().rules = rules;
        }
        if by_pos.is_empty() {
            return Err(NlpError::Format("lemmatizer lookups hold no tables".into()));
        }
        Ok(Self { by_pos })
    }

    /// The lemma of one token given its coarse POS (e.g. "NOUN") and morphology ("Number=Sing|...").
    pub fn lemmatize(&self, text: &str, pos: &str, morph: &str) -> String {
        let univ_pos = pos.to_lowercase();
        if univ_pos.is_empty() || univ_pos == "eol" || univ_pos == "space" {
            return text.to_lowercase();
        }
        if is_base_form(&univ_pos, morph) {
            return text.to_lowercase();
        }
        let Some(t) = self.by_pos.get(&string_id(&univ_pos)) else {
            return if univ_pos == "propn" {
                text.to_string()
            } else {
                text.to_lowercase()
            };
        };
        if t.index.is_empty() && t.exceptions.is_empty() && t.rules.is_empty() {
            return if univ_pos == "propn" {
                text.to_string()
            } else {
                text.to_lowercase()
            };
        }
        let string = text.to_lowercase();
        let mut forms: Vec<String> = Vec::new();
        let mut oov_forms: Vec<String> = Vec::new();
        for (old, new) in &t.rules {
            if let Some(stem) = string.strip_suffix(old.as_str()) {
                let form = format!("{stem}{new}");
                if form.is_empty() {
                } else if t.index.contains(&form) {
                    forms.insert(0, form);
                } else if !py_isalpha(&form) {
                    forms.push(form);
                } else {
                    oov_forms.push(form);
                }
            }
        }
        let mut seen = HashSet::new();
        forms.retain(|f| seen.insert(f.clone()));
        for form in t.exceptions.get(&string).into_iter().flatten() {
            if !forms.contains(form) {
                forms.insert(0, form.clone());
            }
        }
        if forms.is_empty() {
            forms = oov_forms;
        }
        forms.into_iter().next().unwrap_or_else(|| text.to_string())
    }
}

/// The English lemmatizer's `is_base_form`.
fn is_base_form(univ_pos: &str, morph: &str) -> bool {
    let feat = |name: &str| {
        morph.split('|').find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v)
        })
    };
    let verb_form = feat("VerbForm");
    (univ_pos == "noun" && feat("Number") == Some("Sing"))
        || (univ_pos == "verb" && verb_form == Some("Inf"))
        || (univ_pos == "verb"
            && verb_form == Some("Fin")
            && feat("Tense") == Some("Pres")
            && feat("Number").is_none())
        || (univ_pos == "adj" && feat("Degree") == Some("Pos"))
        || verb_form == Some("Inf")
        || verb_form == Some("None")
        || feat("Degree") == Some("Pos")
}
