//! Finds the `<!-- generated:NAME -->` ... `<!-- /generated:NAME -->` blocks of a Markdown text and replaces their content.

use crate::Error;

fn opening(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<!-- generated:")?
        .strip_suffix("-->")
        .map(str::trim)
}

fn closing(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<!-- /generated:")?
        .strip_suffix("-->")
        .map(str::trim)
}

/// Names of the blocks in `text`, in order.
pub fn blocks(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(opening)
        .map(str::to_string)
        .collect()
}

/// `text` with the content of every block replaced by `render(name)`; the rest untouched.
pub fn rewrite(
    text: &str,
    render: impl Fn(&str) -> Result<String, Error>,
) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(String, usize)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        match (&open, opening(line), closing(line)) {
            (None, Some(name), _) => {
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&render(name)?);
                out.push('\n');
                open = Some((name.to_string(), i + 1));
            }
            (Some((name, _)), _, Some(end)) if end == name => {
                out.push_str(line);
                open = None;
            }
            (None, _, Some(end)) => {
                return Err(Error::Stray {
                    name: end.into(),
                    line: i + 1,
                });
            }
            (Some(_), _, _) => {} // old content of the block
            (None, None, None) => out.push_str(line),
        }
    }
    match open {
        Some((name, line)) => Err(Error::Unclosed { name, line }),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(name: &str) -> Result<String, Error> {
        match name {
            "t" => Ok("| a |\n|---|".into()),
            other => Err(Error::UnknownBlock(other.into())),
        }
    }

    #[test]
    fn replaces_only_the_content_between_the_markers() {
        let doc = "intro\n<!-- generated:t -->\nstale\nrows\n<!-- /generated:t -->\nafter\n";
        let want = "intro\n<!-- generated:t -->\n| a |\n|---|\n<!-- /generated:t -->\nafter\n";
        let got = rewrite(doc, fake).expect("rewrites");
        assert_eq!(got, want);
        assert_eq!(rewrite(&got, fake).expect("idempotent"), want);
        assert_eq!(blocks(doc), vec!["t".to_string()]);
    }

    #[test]
    fn unknown_unclosed_and_stray_markers_are_errors() {
        let unknown = rewrite("<!-- generated:x -->\n<!-- /generated:x -->\n", fake);
        assert!(matches!(unknown, Err(Error::UnknownBlock(n)) if n == "x"));
        let unclosed = rewrite("a\n<!-- generated:t -->\nb\n", fake);
        assert!(matches!(unclosed, Err(Error::Unclosed { line: 2, .. })));
        let stray = rewrite("<!-- /generated:t -->\n", fake);
        assert!(matches!(stray, Err(Error::Stray { line: 1, .. })));
    }
}
