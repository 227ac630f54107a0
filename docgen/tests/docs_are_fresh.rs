//! Fails when a generated table of `README.md` or `docs/*.md` no longer matches the code it is derived from, or a link of theirs is broken.

use hermes_docgen::files::{repo_root, stale, used_blocks};
use hermes_docgen::{BLOCKS, names};

#[test]
fn docs_are_fresh() {
    let root = repo_root();
    let stale = match stale(&root) {
        Ok(s) => s,
        Err(e) => panic!("the docs' generated blocks cannot be checked: {e}"),
    };
    let list: Vec<String> = stale
        .iter()
        .map(|s| {
            let p = s.path.strip_prefix(&root).unwrap_or(&s.path);
            format!("  {}", p.display())
        })
        .collect();
    assert!(
        stale.is_empty(),
        "generated tables are stale in:\n{}\nrun `make docs` and commit the result (sources: {})",
        list.join("\n"),
        BLOCKS
            .iter()
            .map(|b| format!("{} <- {}", b.name, b.source))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

#[test]
fn every_block_appears_in_a_doc_exactly_once() {
    let used = match used_blocks(&repo_root()) {
        Ok(u) => u,
        Err(e) => panic!("cannot read the docs: {e}"),
    };
    for name in names() {
        let n = used.iter().filter(|u| u.as_str() == name).count();
        assert_eq!(
            n, 1,
            "block {name:?} appears {n} times in README.md and docs/*.md"
        );
    }
}

#[test]
fn relative_links_of_the_docs_resolve() {
    let root = repo_root();
    let files = match hermes_docgen::files::markdown_files(&root) {
        Ok(f) => f,
        Err(e) => panic!("cannot list the docs: {e}"),
    };
    let mut broken = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        broken.extend(hermes_docgen::links::broken(&path, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
