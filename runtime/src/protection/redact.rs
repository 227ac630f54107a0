//! Log hygiene for every format: each formatted log line passes through
//! [`clean_line`] before it reaches stdout, so control characters are escaped (a
//! newline in a logged field cannot forge a line) and personal data is redacted
//! (e-mail addresses, SSN-like numbers, 13-19 digit card numbers passing Luhn,
//! phone numbers).

use std::io::Write;
use std::sync::LazyLock;

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").ok()
});
static CARD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\d(?:[ -]?\d){12,18}").ok());
static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\d{3}-\d{2}-\d{4}").ok());
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}|\+\d{10,15}").ok()
});

/// Escapes control characters (`\n`, `\r`, ESC, ...) except tab.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_card(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    (13..=19).contains(&digits.len()) && luhn(&digits)
}

/// Whether `next` (with `beyond` behind it) continues a match into a longer token: a
/// letter, digit or `_`, or a `.`/`,`/`-` between such characters. So the digits
/// of a decimal fraction (`elapsed_ms=0.1234567890123`), of an identifier or of a
/// longer number are never taken for a card or a phone number.
fn joins(next: Option<char>, beyond: Option<char>) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match next {
        Some(c) if word(c) => true,
        Some('.' | ',' | '-') => beyond.is_some_and(word),
        _ => false,
    }
}

/// Replaces each match of `re` that is not part of a longer token ([`joins`]) and
/// passes `check`, with `label`.
fn replace(text: &str, re: &Option<Regex>, label: &str, check: fn(&str) -> bool) -> String {
    let Some(re) = re else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let mut before = text[..m.start()].chars().rev();
        let mut after = text[m.end()..].chars();
        let isolated = !joins(before.next(), before.next()) && !joins(after.next(), after.next());
        if isolated && check(m.as_str()) {
            out.push_str(&text[last..m.start()]);
            out.push_str(label);
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Personal data replaced by `[email]`, `[card]`, `[ssn]`, `[phone]`.
pub fn redact(text: &str) -> String {
    let text = replace(text, &EMAIL, "[email]", |_| true);
    let text = replace(&text, &CARD, "[card]", is_card);
    let text = replace(&text, &SSN, "[ssn]", |_| true);
    replace(&text, &PHONE, "[phone]", |_| true)
}

/// One formatted log record made safe: one line, no personal data.
pub fn clean_line(record: &str) -> String {
    let body = record.strip_suffix('\n').unwrap_or(record);
    let mut line = redact(&escape_controls(body));
    line.push('\n');
    line
}

/// A `MakeWriter` whose writers collect one record and write it cleaned on drop
/// (the formatter writes each event once, then drops its writer).
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanStdout;

pub struct CleanWriter {
    record: Vec<u8>,
}

impl<'a> MakeWriter<'a> for CleanStdout {
    type Writer = CleanWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CleanWriter { record: Vec::new() }
    }
}

impl Write for CleanWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.record.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for CleanWriter {
    fn drop(&mut self) {
        if self.record.is_empty() {
            return;
        }
        let line = clean_line(&String::from_utf8_lossy(&self.record));
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_cannot_forge_a_line() {
        let line = clean_line("source=x\nlevel=ERROR forged\r\x1b[31m\n");
        assert_eq!(line.matches('\n').count(), 1);
        assert!(
            line.contains("x\\nlevel=ERROR forged\\r\\u{001b}[31m"),
            "{line}"
        );
    }

    #[test]
    fn personal_data_is_redacted() {
        let cases = [
            ("mail jane.doe+x@example.co.uk now", "mail [email] now"),
            ("card 4111 1111 1111 1111.", "card [card]."),
            ("card 4111-1111-1111-1111", "card [card]"),
            ("card=5500005555555559", "card=[card]"),
            ("ssn 078-05-1120 x", "ssn [ssn] x"),
            (
                "call +1 415-555-2671 or (415) 555-2671",
                "call [phone] or [phone]",
            ),
            ("intl +442071838750", "intl [phone]"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact(raw), want, "{raw}");
        }
    }

    #[test]
    fn ordinary_numbers_survive() {
        for text in [
            "\"timestamp\":\"2026-11-30T13:30:47.123456Z\"",
            "elapsed_ms=12.3456 status=200 port=8080",
            "4111111111111112 fails Luhn",
            "id 0f8fad5b-d9cb-469f-a165-70867728950e",
            // 13 fraction digits passing Luhn, as a JSON log's elapsed_ms may have.
            "\"elapsed_ms\":0.4222222222222,\"target\":\"x\"",
            "\"elapsed_ms\":4222222222222.5",
            "key session_4111111111111111 and job-4111111111111111",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
