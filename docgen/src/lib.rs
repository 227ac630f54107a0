//! Tables of `docs/` generated from the code, so that a doc cannot disagree with it.
//!
//! A Markdown file holds a generated block between two markers:
//!
//! ```text
//! <!-- generated:catalog -->
//! (whatever `render_block("catalog")` returns; never edit by hand)
//! <!-- /generated:catalog -->
//! ```
//!
//! `make docs` (`cargo run -p hermes-docgen`) rewrites every block of `README.md` and
//! `docs/*.md`; the test `docs_are_fresh` (part of `make test`) fails, naming the file,
//! the block and the command, when one differs from what the code renders.
//!
//! **Adding a table:** write `fn render() -> Result<String, Error>` in a new file under
//! `tables/` (build the rows with `table::markdown`), add one line to `BLOCKS` below
//! (name, source it is derived from, the function), and put the two markers with that
//! name where the table belongs in a doc; `make docs` fills it in.

pub mod files;
pub mod links;
pub mod markers;
pub mod table;
pub mod tables;

/// Why a block could not be rendered or a doc not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown generated block {0:?} (known: {known})", known = names().join(", "))]
    UnknownBlock(String),
    #[error("line {line}: `<!-- generated:{name} -->` has no closing `<!-- /generated:{name} -->`")]
    Unclosed { name: String, line: usize },
    #[error("line {line}: closing marker of {name:?} without an opening one")]
    Stray { name: String, line: usize },
    #[error("block {block}: {reason}")]
    Render { block: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One generated table: its marker name, what it is derived from, and its renderer.
pub struct Block {
    pub name: &'static str,
    pub source: &'static str,
    pub render: fn() -> Result<String, Error>,
}

/// Every generated block. Add a table here (see the module header).
pub const BLOCKS: &[Block] = &[
    Block {
        name: "env",
        source: "interface/src/env.rs",
        render: tables::env::render,
    },
    Block {
        name: "catalog",
        source: "interface/src/catalog.rs",
        render: tables::catalog::render,
    },
    Block {
        name: "sizing",
        source: "operator/src/sizing.rs, operator/src/build/probes.rs",
        render: tables::sizing::render,
    },
    Block {
        name: "runtime-metrics",
        source: "interface/src/metrics.rs",
        render: tables::runtime_metrics::render,
    },
    Block {
        name: "operator-metrics",
        source: "operator/src/metrics.rs, operator/src/slo_metrics.rs",
        render: tables::operator_metrics::render,
    },
];

/// Names of every block, in registry order.
pub fn names() -> Vec<&'static str> {
    BLOCKS.iter().map(|b| b.name).collect()
}

/// The content of block `name`, as it must stand between its markers.
pub fn render_block(name: &str) -> Result<String, Error> {
    let block = BLOCKS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| Error::UnknownBlock(name.into()))?;
    (block.render)()
}
