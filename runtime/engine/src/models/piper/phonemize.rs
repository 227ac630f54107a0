//! Text to IPA phonemes with the espeak-ng command-line program, run as a separate
//! process (espeak-ng is GPL-3: it is never linked into the runtime).
//!
//! Piper phonemizes clause by clause and keeps each clause's closing punctuation
//! (`.` `?` `!` end a sentence; `,` `:` `;` add a pause), which shapes the voice's
//! intonation. The CLI prints one line per clause but drops the punctuation, so the
//! text is split into clauses here and each clause is phonemized on its own, its
//! punctuation appended the way Piper appends it. Each sentence is synthesised
//! separately, as Piper does.

use std::ffi::OsString;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

/// Bytes of espeak-ng's stderr kept for an error message.
const STDERR_KEPT: usize = 300;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhonemizeError {
    #[error(
        "the phonemizer program {program:?} was not found (install the Debian package espeak-ng, or point HERMES_ESPEAK_NG at it)"
    )]
    NotFound { program: String },
    #[error("the phonemizer program {program:?} could not be started: {reason}")]
    Spawn { program: String, reason: String },
    #[error("espeak-ng did not answer within {seconds} s")]
    Timeout { seconds: f64 },
    #[error("espeak-ng failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("espeak-ng printed output that is not UTF-8")]
    NotUtf8,
}

/// How to run espeak-ng.
#[derive(Debug, Clone)]
pub struct Espeak {
    program: OsString,
    timeout: Duration,
    /// Bounds espeak-ng processes across all requests.
    running: Arc<Semaphore>,
}

/// One clause of the text and the punctuation that closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause<'a> {
    text: &'a str,
    terminator: Option<char>,
}

impl Espeak {
    pub fn new(program: impl Into<OsString>, timeout: Duration, max_processes: usize) -> Self {
        Self {
            program: program.into(),
            timeout,
            running: Arc::new(Semaphore::new(max_processes.max(1))),
        }
    }

    /// The phonemes of each sentence of `text` (NFD, as Piper decomposes them),
    /// with clause punctuation; sentences without any phoneme are left out.
    pub async fn sentences(&self, voice: &str, text: &str) -> Result<Vec<String>, PhonemizeError> {
        let clauses = split_clauses(text);
        // Clauses run concurrently, bounded by the process limit of `running`.
        let runs: Vec<_> = clauses.iter().map(|c| self.run(voice, c.text)).collect();
        let phonemes = futures::future::try_join_all(runs).await?;
        let mut sentences = Vec::new();
        let mut current = String::new();
        for (clause, phonemes) in clauses.iter().zip(phonemes) {
            if phonemes.is_empty() {
                continue;
            }
            if !current.is_empty() && !current.ends_with(' ') {
                current.push(' ');
            }
            current.push_str(&phonemes);
            match clause.terminator {
                Some(t @ ('.' | '?' | '!')) => {
                    current.push(t);
                    sentences.push(std::mem::take(&mut current));
                }
                Some(t) => {
                    current.push(t);
                    current.push(' ');
                }
                None => {}
            }
        }
        let last = current.trim_end();
        if !last.is_empty() {
            sentences.push(last.to_owned());
        }
        Ok(sentences)
    }

    /// Phonemes of one clause: espeak-ng's output lines joined by spaces.
    async fn run(&self, voice: &str, clause: &str) -> Result<String, PhonemizeError> {
        let program = self.program.to_string_lossy().into_owned();
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|_| PhonemizeError::Spawn {
                program: program.clone(),
                reason: "phonemizer closed".into(),
            })?;
        let mut child = Command::new(&self.program)
            .args(["-q", "--ipa", "-b", "1", "-v", voice, "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PhonemizeError::NotFound {
                    program: program.clone(),
                },
                _ => PhonemizeError::Spawn {
                    program: program.clone(),
                    reason: e.to_string(),
                },
            })?;
        let stdin = child.stdin.take();
        let input = clause.as_bytes().to_vec();
        let write = async move {
            if let Some(mut stdin) = stdin {
                // A failed write shows as espeak-ng's exit status or output.
                let _ = stdin.write_all(&input).await;
            }
        };
        // Dropping the child on timeout kills it (kill_on_drop).
        let output = tokio::time::timeout(self.timeout, async {
            let ((), output) = tokio::join!(write, child.wait_with_output());
            output
        })
        .await
        .map_err(|_| PhonemizeError::Timeout {
            seconds: self.timeout.as_secs_f64(),
        })?
        .map_err(|e| PhonemizeError::Spawn {
            program,
            reason: e.to_string(),
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(PhonemizeError::Failed {
                status: output.status.to_string(),
                stderr: stderr.trim().chars().take(STDERR_KEPT).collect(),
            });
        }
        let stdout = String::from_utf8(output.stdout).map_err(|_| PhonemizeError::NotUtf8)?;
        let joined = stdout
            .lines()
            .map(|l| without_language_flags(l).trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(joined.nfd().collect())
    }
}

/// Drops espeak-ng's language switch flags (`(fr)`, `(en)`) around foreign words,
/// as Piper does: they are not phonemes.
fn without_language_flags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        match rest[open..].find(')') {
            Some(close) => {
                out.push_str(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Splits text at clause punctuation followed by whitespace (or the end), and at
/// blank lines; `3.5`, `e-mail` or `a.m.` mid-word stay whole.
fn split_clauses(text: &str) -> Vec<Clause<'_>> {
    let mut clauses = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_terminator(c) {
            let mut terminator = c;
            let mut end = i + c.len_utf8();
            while let Some(&(j, next)) = chars.peek() {
                if is_terminator(next) {
                    terminator = stronger(terminator, next);
                } else if !is_closing(next) {
                    break;
                }
                end = j + next.len_utf8();
                chars.next();
            }
            let at_boundary = chars.peek().is_none_or(|&(_, next)| next.is_whitespace());
            if at_boundary {
                push_clause(&mut clauses, &text[start..i], Some(terminator));
                start = end;
            }
        } else if c == '\n' && is_blank_line_after(&text[i + 1..]) {
            push_clause(&mut clauses, &text[start..i], Some('.'));
            start = i + 1;
        }
    }
    push_clause(&mut clauses, &text[start..], None);
    clauses
}

fn push_clause<'a>(clauses: &mut Vec<Clause<'a>>, text: &'a str, terminator: Option<char>) {
    let text = text.trim();
    if !text.is_empty() {
        clauses.push(Clause { text, terminator });
    }
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?')
}

/// Quotes and brackets that may close a clause after its punctuation: `"Stop!" he said`.
fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '}' | '”' | '’' | '»')
}

/// `?!` reads as a question, `...` as a full stop.
fn stronger(a: char, b: char) -> char {
    let rank = |c| match c {
        '?' => 5,
        '!' => 4,
        '.' => 3,
        ';' => 2,
        ':' => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Whether the text after a newline starts with an empty line (a paragraph break).
fn is_blank_line_after(rest: &str) -> bool {
    rest.chars()
        .take_while(|c| c.is_whitespace())
        .any(|c| c == '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(text: &str, terminator: Option<char>) -> Clause<'_> {
        Clause { text, terminator }
    }

    #[test]
    fn splits_at_punctuation_followed_by_space() {
        assert_eq!(
            split_clauses("Hello, world. It costs 3.5 dollars: cheap?! \"Yes!\" she said"),
            vec![
                clause("Hello", Some(',')),
                clause("world", Some('.')),
                clause("It costs 3.5 dollars", Some(':')),
                clause("cheap", Some('?')),
                clause("\"Yes", Some('!')),
                clause("she said", None),
            ]
        );
    }

    #[test]
    fn language_flags_are_dropped() {
        assert_eq!(
            without_language_flags("ɐ (fr)ʃˈɑːtoː(en) ɪz"),
            "ɐ ʃˈɑːtoː ɪz"
        );
        assert_eq!(without_language_flags("no flags ("), "no flags (");
    }

    #[test]
    fn blank_lines_end_a_sentence_single_newlines_do_not() {
        assert_eq!(
            split_clauses("first line\nsame sentence\n \nnew paragraph..."),
            vec![
                clause("first line\nsame sentence", Some('.')),
                clause("new paragraph", Some('.')),
            ]
        );
        assert_eq!(split_clauses(" ... , "), vec![]);
    }
}
