//! The `/stt` language hint: a BCP 47 tag (`en-US`), an ISO 639-1 code (`en`) or
//! `auto`, mapped to the language code whisper.cpp takes.

/// What to tell the model about the language of the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageChoice {
    /// A language code whisper.cpp knows (`en`, `de`, ...).
    Code(&'static str),
    /// Let a multilingual model detect it.
    Detect,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LanguageError {
    #[error(
        "Unsupported language {0:?}: expected a language tag such as \"en-US\", \"en\" or \"auto\""
    )]
    Unknown(String),
    #[error("Model {model} transcribes English only; language {requested:?} is not supported")]
    EnglishOnly {
        model: &'static str,
        requested: String,
    },
}

/// The default when the client sends no hint (the contract's default is `en-US`).
pub const DEFAULT_HINT: &str = "en-US";

/// Maps a hint to a whisper language: the primary subtag, lower case (`en-US`,
/// `en_us`, `EN` -> `en`). `auto` detects with a multilingual model and means
/// English with an English-only one; a blank hint is the contract's default.
pub fn choose(
    hint: &str,
    model: &'static str,
    multilingual: bool,
) -> Result<LanguageChoice, LanguageError> {
    let hint = hint.trim();
    let hint = if hint.is_empty() { DEFAULT_HINT } else { hint };
    if hint.eq_ignore_ascii_case("auto") {
        return Ok(if multilingual {
            LanguageChoice::Detect
        } else {
            LanguageChoice::Code("en")
        });
    }
    let primary = hint
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let valid_shape =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let code = valid_shape
        .then(|| whisper_rs::get_lang_id(&primary))
        .flatten()
        .and_then(whisper_rs::get_lang_str)
        .ok_or_else(|| LanguageError::Unknown(hint.to_owned()))?;
    if !multilingual && code != "en" {
        return Err(LanguageError::EnglishOnly {
            model,
            requested: hint.to_owned(),
        });
    }
    Ok(LanguageChoice::Code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_their_primary_language() {
        for hint in ["en-US", "en_gb", "EN", " en ", "", "auto", "AUTO"] {
            assert_eq!(
                choose(hint, "m", false),
                Ok(LanguageChoice::Code("en")),
                "{hint:?}"
            );
        }
        assert_eq!(choose("de-AT", "m", true), Ok(LanguageChoice::Code("de")));
        assert_eq!(choose("auto", "m", true), Ok(LanguageChoice::Detect));
    }

    #[test]
    fn unknown_or_unsupported_languages_are_refused() {
        for hint in ["xx", "english", "e", "en\0", "日本"] {
            assert_eq!(
                choose(hint, "m", true),
                Err(LanguageError::Unknown(hint.trim().to_owned())),
                "{hint:?}"
            );
        }
        let err = choose("fr-FR", "whisper-tiny-en", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Model whisper-tiny-en transcribes English only; language \"fr-FR\" is not supported"
        );
    }
}
