//! Cuts a phonemized sentence into pieces of at most a bounded phoneme count, so
//! that one synthesis (whose memory grows with its input) stays bounded however
//! long a sentence is: whole sentences when they fit, else clauses (after `,` `;`
//! `:`), else words, and only a word longer than the bound is cut mid-word.

/// Phonemes (characters of the IPA string) one synthesis takes at most. About 10
/// to 15 seconds of speech; a typical sentence fits whole.
pub const MAX_CHUNK_PHONEMES: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Clause,
    Word,
    Char,
}

/// The pieces of `sentence`, in order, each at most `max` characters and trimmed;
/// joined with spaces they give the sentence back (whitespace aside).
pub fn chunks(sentence: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    pack(sentence, max.max(1), Level::Clause, &mut out);
    out
}

fn len(text: &str) -> usize {
    text.chars().count()
}

/// Byte ranges of `text`'s pieces at `level`; contiguous, covering all of it.
fn pieces(text: &str, level: Level, max: usize) -> Vec<(usize, usize)> {
    let ends: Vec<usize> = match level {
        Level::Clause => text
            .match_indices([',', ';', ':'])
            .map(|(i, p)| i + p.len())
            .collect(),
        Level::Word => text
            .match_indices(char::is_whitespace)
            .map(|(i, p)| i + p.len())
            .collect(),
        Level::Char => text
            .char_indices()
            .skip(max)
            .step_by(max)
            .map(|(i, _)| i)
            .collect(),
    };
    let mut ranges = Vec::with_capacity(ends.len() + 1);
    let mut start = 0;
    for end in ends.into_iter().chain(std::iter::once(text.len())) {
        if end > start {
            ranges.push((start, end));
            start = end;
        }
    }
    ranges
}

/// Packs consecutive pieces of `text` into chunks of at most `max` characters; a
/// piece that alone is too long goes one level finer.
fn pack<'a>(text: &'a str, max: usize, level: Level, out: &mut Vec<&'a str>) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if len(text) <= max {
        out.push(text);
        return;
    }
    let mut current: Option<(usize, usize)> = None;
    let flush = |current: &mut Option<(usize, usize)>, out: &mut Vec<&'a str>| {
        if let Some((start, end)) = current.take() {
            let chunk = text[start..end].trim();
            if !chunk.is_empty() {
                out.push(chunk);
            }
        }
    };
    for (start, end) in pieces(text, level, max) {
        if let Some((from, _)) = current
            && len(text[from..end].trim()) <= max
        {
            current = Some((from, end));
            continue;
        }
        flush(&mut current, out);
        if len(text[start..end].trim()) <= max {
            current = Some((start, end));
        } else {
            let finer = match level {
                Level::Clause => Level::Word,
                Level::Word | Level::Char => Level::Char,
            };
            pack(&text[start..end], max, finer, out);
        }
    }
    flush(&mut current, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text without whitespace: chunks cut mid-word join back without one.
    fn squash(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn check(sentence: &str, max: usize) -> Vec<&str> {
        let out = chunks(sentence, max);
        for chunk in &out {
            assert!(len(chunk) <= max, "{chunk:?} is longer than {max}");
            assert!(!chunk.is_empty());
        }
        assert_eq!(squash(&out.concat()), squash(sentence), "{out:?}");
        out
    }

    #[test]
    fn a_sentence_that_fits_stays_whole() {
        assert_eq!(check("hɛlˈoʊ, wˈɜːld.", 160), vec!["hɛlˈoʊ, wˈɜːld."]);
        assert_eq!(check("   ", 10), Vec::<&str>::new());
    }

    #[test]
    fn a_long_sentence_splits_at_clauses_first() {
        assert_eq!(
            check("aaa bbb, ccc ddd; eee fff: ggg.", 10),
            vec!["aaa bbb,", "ccc ddd;", "eee fff:", "ggg."]
        );
        // Clauses that fit together are packed together.
        assert_eq!(
            check("aa, bb, cc, dd, ee.", 8),
            vec!["aa, bb,", "cc, dd,", "ee."]
        );
    }

    #[test]
    fn a_long_clause_splits_at_words_then_a_long_word_by_characters() {
        assert_eq!(
            check("one two three four five six, seven.", 10),
            vec!["one two", "three four", "five six,", "seven."]
        );
        assert_eq!(
            check("ab abcdefghijklmnopqrstuvwxyz cd", 10),
            vec!["ab", "abcdefghij", "klmnopqrst", "uvwxyz", "cd"]
        );
    }

    #[test]
    fn multibyte_phonemes_are_counted_as_characters() {
        let sentence = "ðɪs ɪz ɐ lˈɔŋ sˈɛntəns wɪðˌaʊt ˈɛni pˈʌŋktʃuːˌeɪʃən ɹˈiːli";
        let out = check(sentence, 12);
        assert!(out.len() > 3, "{out:?}");
    }

    #[test]
    fn five_thousand_characters_without_a_break_stay_bounded() {
        let sentence = "wˈʌn tˈuː θɹˈiː ".repeat(320);
        let out = check(&sentence, MAX_CHUNK_PHONEMES);
        assert!(out.len() >= 5_000 / MAX_CHUNK_PHONEMES, "{}", out.len());
    }
}
