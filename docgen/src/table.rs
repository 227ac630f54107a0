//! A Markdown table from a header and rows, the one shape every generated block uses.

/// `| a | b |` lines: the header, the separator, one line per row. A `|` in a cell is escaped.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |", cells.join(" | "))
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = vec![line(&header), format!("|{}", "---|".repeat(header.len()))];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

/// A number without trailing zeros: 247.5, 626.25, 5.
pub fn number(value: f64) -> String {
    let s = format!("{value:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_has_header_separator_and_escaped_cells() {
        let t = markdown(&["a", "b"], &[vec!["1".into(), "x|y".into()]]);
        assert_eq!(t, "| a | b |\n|---|---|\n| 1 | x\\|y |");
    }

    #[test]
    fn numbers_lose_trailing_zeros() {
        assert_eq!(number(247.5), "247.5");
        assert_eq!(number(626.25), "626.25");
        assert_eq!(number(5.0), "5");
    }
}
