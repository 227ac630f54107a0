//! The pipeline's API: operations select what is computed, entity offsets count characters, whitespace tokens, errors.

use hermes_nlp::{Entity, NlpError, NlpPipeline, Operation, parse_operations};
use std::path::Path;
use std::sync::OnceLock;

fn nlp() -> &'static NlpPipeline {
    static NLP: OnceLock<NlpPipeline> = OnceLock::new();
    NLP.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/en-core-web-sm");
        NlpPipeline::load(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (run `make models`)", dir.display()))
    })
}

fn ent(text: &str, label: &str, start: usize, end: usize) -> Entity {
    Entity {
        text: text.into(),
        label: label.into(),
        start,
        end,
    }
}

#[test]
fn only_the_requested_operations_are_filled() {
    let a = nlp().analyze("Apple opened a store in Paris.", &[Operation::Tokenize]);
    assert_eq!(a.tokens.as_deref().map(<[String]>::len), Some(7));
    assert!(a.pos_tags.is_none() && a.lemmas.is_none() && a.entities.is_none());
    let b = nlp().analyze("Apple opened a store in Paris.", &[Operation::Ner]);
    assert!(b.tokens.is_none() && b.pos_tags.is_none());
    assert_eq!(
        b.entities,
        Some(vec![ent("Apple", "ORG", 0, 5), ent("Paris", "GPE", 24, 29)])
    );
}

/// spaCy's output for the same text: character offsets, not bytes, past accented letters and "€".
#[test]
fn entity_offsets_count_characters_like_spacy() {
    let text = "Café owner José Álvarez visited Zürich in 2020 — and paid €300.";
    let a = nlp().analyze(
        text,
        &[Operation::PosTag, Operation::Lemmatize, Operation::Ner],
    );
    assert_eq!(
        a.entities.unwrap(),
        vec![
            ent("Café", "PERSON", 0, 4),
            ent("José Álvarez", "PERSON", 11, 23),
            ent("Zürich", "PERSON", 32, 38),
            ent("2020", "DATE", 42, 46),
            ent("300", "MONEY", 59, 62),
        ]
    );
    let pos: Vec<String> = a.pos_tags.unwrap().into_iter().map(|p| p.tag).collect();
    assert_eq!(
        pos,
        [
            "NOUN", "NOUN", "PROPN", "PROPN", "VERB", "PROPN", "ADP", "NUM", "PUNCT", "CCONJ",
            "VERB", "SYM", "NUM", "PUNCT"
        ]
    );
    assert_eq!(
        a.lemmas.unwrap(),
        [
            "café", "owner", "José", "Álvarez", "visit", "Zürich", "in", "2020", "—", "and", "pay",
            "€", "300", "."
        ]
    );
}

#[test]
fn whitespace_runs_are_space_tokens_outside_entities() {
    let a = nlp().analyze(
        "Hello\n\nworld. Apple and Google met in Paris.",
        &[Operation::PosTag, Operation::Ner],
    );
    let pos = a.pos_tags.unwrap();
    assert_eq!(pos[1].token, "\n\n");
    assert_eq!(pos[1].tag, "SPACE");
    assert_eq!(
        a.entities.unwrap(),
        vec![
            ent("Apple", "ORG", 14, 19),
            ent("Google", "ORG", 24, 30),
            ent("Paris", "GPE", 38, 43)
        ]
    );
}

#[test]
fn empty_text_gives_empty_results() {
    let a = nlp().analyze(
        "",
        &[
            Operation::Tokenize,
            Operation::PosTag,
            Operation::Lemmatize,
            Operation::Ner,
        ],
    );
    assert_eq!(a.tokens, Some(vec![]));
    assert_eq!(a.pos_tags, Some(vec![]));
    assert_eq!(a.entities, Some(vec![]));
}

#[test]
fn operations_parse_and_unknown_ones_name_the_valid_ones() {
    assert_eq!("pos_tag".parse::<Operation>().unwrap(), Operation::PosTag);
    assert_eq!(
        parse_operations(&["ner", "tokenize", "ner"]).unwrap(),
        [Operation::Ner, Operation::Tokenize]
    );
    let err = parse_operations(&["tokenize", "parse", "sentiment"]).unwrap_err();
    assert!(matches!(err, NlpError::InvalidOperations(ref ops) if ops == &["parse", "sentiment"]));
    assert_eq!(
        err.to_string(),
        "Invalid operations: parse, sentiment. Valid operations: tokenize, pos_tag, lemmatize, ner"
    );
}

#[test]
fn a_missing_model_dir_is_a_clear_error() {
    let err = NlpPipeline::load(Path::new("/nonexistent/en-core-web-sm"))
        .err()
        .expect("load fails");
    assert!(matches!(err, NlpError::Io { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("/nonexistent/en-core-web-sm/tokenizer"),
        "{err}"
    );
}
