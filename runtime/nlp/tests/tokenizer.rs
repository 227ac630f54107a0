//! Tokenizer edge cases (contractions, URLs, e-mails, hyphens, quotes, whitespace runs, emoji), expected values from spaCy 3.8.

use hermes_nlp::NlpPipeline;
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

/// Input and spaCy's tokens; a trailing "␣" marks a token followed by a space.
const CASES: &[(&str, &[&str])] = &[
    ("Don't stop!", &["Do", "n't␣", "stop", "!"]),
    (
        "I'm here,you know.",
        &["I", "'m␣", "here", ",", "you␣", "know", "."],
    ),
    (
        "  leading and  double  spaces ",
        &["  ", "leading␣", "and␣", " ", "double␣", " ", "spaces␣"],
    ),
    ("New\nline\n\nhere", &["New", "\n", "line", "\n\n", "here"]),
    (
        "U.S.A. and e.g. etc.",
        &["U.S.A.␣", "and␣", "e.g.␣", "etc", "."],
    ),
    (
        "(see https://example.com/a?b=1&c=2).",
        &["(", "see␣", "https://example.com/a?b=1&c=2", ")", "."],
    ),
    (
        "mail me: a.b@c.org!",
        &["mail␣", "me", ":␣", "a.b@c.org", "!"],
    ),
    (
        "It costs $5.99/month.",
        &["It␣", "costs␣", "$", "5.99", "/", "month", "."],
    ),
    (
        "1-2-3 well-known 5km 10am",
        &[
            "1", "-", "2", "-", "3␣", "well", "-", "known␣", "5", "km␣", "10", "am",
        ],
    ),
    (
        "\"Quoted,\" she said.",
        &["\"", "Quoted", ",", "\"␣", "she␣", "said", "."],
    ),
    ("The 1990s' music", &["The␣", "1990s", "'␣", "music"]),
    (
        "C++ and C# rock :)",
        &["C++␣", "and␣", "C", "#␣", "rock␣", ":)"],
    ),
    (
        "10,000-strong crowd...",
        &["10,000", "-", "strong␣", "crowd", "..."],
    ),
    ("Hello—world", &["Hello", "—", "world"]),
    ("naïve café résumé", &["naïve␣", "café␣", "résumé"]),
    (
        "¡Hola! ¿Qué tal?",
        &["¡", "Hola", "!␣", "¿", "Qué␣", "tal", "?"],
    ),
    ("He'll've", &["He", "'ll", "'ve"]),
    ("gonna wanna", &["gon", "na␣", "wanna"]),
    ("’Tis the season", &["’", "Tis␣", "the␣", "season"]),
    ("rock'n'roll", &["rock'n'roll"]),
    ("3.14159 is pi", &["3.14159␣", "is␣", "pi"]),
    (
        "www.google.com is a site",
        &["www.google.com␣", "is␣", "a␣", "site"],
    ),
    ("#hashtag @mention", &["#", "hashtag␣", "@mention"]),
    ("A-", &["A-"]),
    ("(((nested)))", &["(", "(", "(", "nested", ")", ")", ")"]),
    ("😀 emoji 👍🏽 test", &["😀␣", "emoji␣", "👍", "🏽␣", "test"]),
    ("Mr.Smith", &["Mr.", "Smith"]),
    ("end.", &["end", "."]),
    (
        "Let's (don't) go.",
        &["Let", "'s␣", "(", "do", "n't", ")␣", "go", "."],
    ),
    (
        "\"Yes,\" he said, \"it's done.\"",
        &[
            "\"", "Yes", ",", "\"␣", "he␣", "said", ",␣", "\"", "it", "'s␣", "done", ".", "\"",
        ],
    ),
    // long affix runs: the suffix search window (tokenizer::find_suffix)
    (
        "Wait....................................................................................................",
        &[
            "Wait",
            "....................................................................................................",
        ],
    ),
    (
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        &[
            "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(",
            "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(",
            "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(",
            "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(", "(",
            "(", "(", "x", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")",
            ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")",
            ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")",
            ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")", ")",
            ")", ")", ")", ")", ")",
        ],
    ),
    (
        "x!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?",
        &[
            "x", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?",
            "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!",
            "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?",
            "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!",
            "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?",
            "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?", "!", "?",
        ],
    ),
    (
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa's",
        &[
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "'s",
        ],
    ),
    (
        "end......................................................................!",
        &[
            "end",
            "......................................................................",
            "!",
        ],
    ),
];

#[test]
fn tokenizer_matches_spacy_on_edge_cases() {
    for (text, want) in CASES {
        let got: Vec<String> = nlp()
            .tokenize(text)
            .iter()
            .map(|t| format!("{}{}", t.text, if t.space_after { "␣" } else { "" }))
            .collect();
        assert_eq!(got, *want, "tokens of {text:?}");
    }
}

#[test]
fn token_offsets_point_into_the_text() {
    for (text, _) in CASES {
        for t in nlp().tokenize(text) {
            assert_eq!(
                &text[t.start..t.start + t.text.len()],
                t.text,
                "offset of {:?} in {text:?}",
                t.text
            );
        }
    }
}

#[test]
fn special_cases_carry_their_norm() {
    let toks = nlp().tokenize("They won't go at 10am.");
    let norms: Vec<(&str, Option<&str>)> = toks
        .iter()
        .map(|t| (t.text.as_str(), t.norm.as_deref()))
        .collect();
    assert!(norms.contains(&("wo", Some("will"))), "{norms:?}");
    assert!(norms.contains(&("n't", Some("not"))), "{norms:?}");
    assert!(norms.contains(&("am", Some("a.m."))), "{norms:?}");
}

#[test]
fn empty_and_blank_texts_give_no_or_blank_tokens() {
    assert!(nlp().tokenize("").is_empty());
    let blank = nlp().tokenize("   ");
    assert_eq!(blank.len(), 1);
    assert_eq!(blank[0].text, "   ");
}
