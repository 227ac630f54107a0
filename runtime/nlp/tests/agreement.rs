//! Agreement with spaCy itself: the committed corpus analysed by spaCy (reference.json) versus this crate.

use hermes_nlp::{NlpPipeline, Operation};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Reference {
    docs: Vec<RefDoc>,
}

#[derive(Deserialize)]
struct RefDoc {
    text: String,
    tokens: Vec<String>,
    tags: Vec<String>,
    pos: Vec<String>,
    lemmas: Vec<String>,
    entities: Vec<RefEntity>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Debug)]
struct RefEntity {
    text: String,
    label: String,
    start: usize,
    end: usize,
}

fn model_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/en-core-web-sm");
    assert!(
        dir.join("ner/model").is_file(),
        "{} is missing: run `make models` first",
        dir.display()
    );
    dir
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference.json");
    let text = std::fs::read_to_string(&path).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

/// Position-wise agreement of two token-aligned lists, over docs whose tokens agree.
fn agreement(pairs: &[(Vec<String>, Vec<String>)]) -> f64 {
    let (mut same, mut total) = (0usize, 0usize);
    for (a, b) in pairs {
        total += b.len();
        if a.len() == b.len() {
            same += a.iter().zip(b).filter(|(x, y)| x == y).count();
        }
    }
    same as f64 / total.max(1) as f64
}

#[test]
fn pipeline_agrees_with_spacy_on_the_corpus() {
    let nlp = NlpPipeline::load(&model_dir()).expect("pipeline loads");
    let reference = reference();
    assert!(reference.docs.len() >= 200);
    let ops = [
        Operation::Tokenize,
        Operation::PosTag,
        Operation::Lemmatize,
        Operation::Ner,
    ];
    let (mut tok_same, mut tok_total) = (0usize, 0usize);
    let mut pos_pairs = Vec::new();
    let mut tag_pairs = Vec::new();
    let mut lemma_pairs = Vec::new();
    let (mut tp, mut n_pred, mut n_gold) = (0usize, 0usize, 0usize);
    let mut report = String::new();
    for doc in &reference.docs {
        let got = nlp.analyze(&doc.text, &ops);
        let tokens = got.tokens.unwrap_or_default();
        tok_total += doc.tokens.len().max(tokens.len());
        if tokens == doc.tokens {
            tok_same += doc.tokens.len();
        } else {
            report.push_str(&format!(
                "TOKENS {:?}\n  want {:?}\n  got  {:?}\n",
                doc.text, doc.tokens, tokens
            ));
            continue;
        }
        let pos: Vec<String> = got
            .pos_tags
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.tag)
            .collect();
        let tags = got.fine_tags.unwrap_or_default();
        let lemmas = got.lemmas.unwrap_or_default();
        for i in 0..tokens.len() {
            if pos[i] != doc.pos[i] || lemmas[i] != doc.lemmas[i] || tags[i] != doc.tags[i] {
                report.push_str(&format!(
                    "TOKEN {:?} in {:?}: tag {}/{} pos {}/{} lemma {}/{}\n",
                    tokens[i],
                    doc.text,
                    tags[i],
                    doc.tags[i],
                    pos[i],
                    doc.pos[i],
                    lemmas[i],
                    doc.lemmas[i]
                ));
            }
        }
        pos_pairs.push((pos, doc.pos.clone()));
        tag_pairs.push((tags, doc.tags.clone()));
        lemma_pairs.push((lemmas, doc.lemmas.clone()));
        let ents: Vec<RefEntity> = got
            .entities
            .unwrap_or_default()
            .into_iter()
            .map(|e| RefEntity {
                text: e.text,
                label: e.label,
                start: e.start,
                end: e.end,
            })
            .collect();
        n_pred += ents.len();
        n_gold += doc.entities.len();
        tp += ents.iter().filter(|e| doc.entities.contains(e)).count();
        if ents != doc.entities {
            report.push_str(&format!(
                "ENTS {:?}\n  want {:?}\n  got  {:?}\n",
                doc.text, doc.entities, ents
            ));
        }
    }
    let tok = tok_same as f64 / tok_total.max(1) as f64;
    let pos = agreement(&pos_pairs);
    let tag = agreement(&tag_pairs);
    let lemma = agreement(&lemma_pairs);
    let precision = tp as f64 / n_pred.max(1) as f64;
    let recall = tp as f64 / n_gold.max(1) as f64;
    let f1 = 2.0 * precision * recall / (precision + recall).max(f64::MIN_POSITIVE);
    let summary = format!(
        "tokens {tok:.4} tags {tag:.4} pos {pos:.4} lemmas {lemma:.4} entity P {precision:.3} R {recall:.3} F1 {f1:.4}"
    );
    eprintln!("{report}{summary}");
    assert!(tok >= 0.995, "token agreement too low: {summary}");
    assert!(pos >= 0.98, "POS agreement too low: {summary}");
    assert!(lemma >= 0.98, "lemma agreement too low: {summary}");
    assert!(f1 >= 0.95, "entity F1 too low: {summary}");
}
