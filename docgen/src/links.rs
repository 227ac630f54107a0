//! Checks the relative links of the docs: the file exists and the `#anchor` is one of its headings.

use std::collections::HashMap;
use std::path::Path;

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces to `-`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Lines outside fenced code blocks, with their 1-based numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// Anchors of every heading of `text` (a repeated heading gets `-1`, `-2`, ... as on GitHub).
pub fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let s = slug(heading.trim_start_matches('#'));
        let n = seen.entry(s.clone()).or_insert(0);
        out.push(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

/// `(line, target)` of every Markdown link `](target)` in `text` outside code blocks.
pub fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose(text) {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find(')') {
                out.push((n, rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Broken relative links of the Markdown file `path` (text `text`), as readable messages.
pub fn broken(path: &Path, text: &str) -> Vec<String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (line, target) in links(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let (file_text, shown) = if file.is_empty() {
            (Some(text.to_string()), path.to_path_buf())
        } else {
            let p = dir.join(file);
            (std::fs::read_to_string(&p).ok(), p)
        };
        match file_text {
            None if !dir.join(file).exists() => {
                out.push(format!("{}:{line}: {target}: no such file", path.display()))
            }
            Some(t) if !anchor.is_empty() && !anchors(&t).iter().any(|a| a == anchor) => {
                out.push(format!(
                    "{}:{line}: {target}: {} has no heading #{anchor}",
                    path.display(),
                    shown.display()
                ))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug(" What `make test` checks"), "what-make-test-checks");
        assert_eq!(
            slug("Sophia down and `/llm` (`scripts/bench-sophia.sh`)"),
            "sophia-down-and-llm-scriptsbench-sophiash"
        );
        assert_eq!(
            anchors("# A\n```\n# not a heading\n```\n## A\n"),
            vec!["a", "a-1"]
        );
    }

    #[test]
    fn links_are_found_outside_code() {
        let t = "see [x](a.md#b) and [y](https://e.org)\n```\n[z](c.md)\n```\n";
        assert_eq!(
            links(t),
            vec![(1, "a.md#b".to_string()), (1, "https://e.org".to_string())]
        );
    }
}
