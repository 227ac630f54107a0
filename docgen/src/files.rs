//! The Markdown files holding generated blocks (`README.md`, `docs/*.md`), checked or rewritten in place.

use crate::{Error, markers, render_block};
use std::path::{Path, PathBuf};

/// The repository root (this crate sits in `docgen/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `README.md` and every `docs/*.md`, sorted.
pub fn markdown_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let docs = root.join("docs");
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(&docs).map_err(io(&docs))? {
        let path = entry.map_err(io(&docs))?.path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A file whose generated blocks differ from what the code renders.
#[derive(Debug)]
pub struct Stale {
    pub path: PathBuf,
    /// The file as `make docs` would write it.
    pub fresh: String,
}

/// Every file under `root` whose blocks are out of date.
pub fn stale(root: &Path) -> Result<Vec<Stale>, Error> {
    let mut out = Vec::new();
    for path in markdown_files(root)? {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let fresh = markers::rewrite(&text, render_block)?;
        if fresh != text {
            out.push(Stale { path, fresh });
        }
    }
    Ok(out)
}

/// Rewrites the stale files; returns their paths.
pub fn write(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for s in stale(root)? {
        std::fs::write(&s.path, &s.fresh).map_err(io(&s.path))?;
        written.push(s.path);
    }
    Ok(written)
}

/// Names of the blocks used in the files under `root`.
pub fn used_blocks(root: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for path in markdown_files(root)? {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        out.extend(markers::blocks(&text));
    }
    Ok(out)
}
