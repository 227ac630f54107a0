//! `make docs`: rewrites the generated blocks of `README.md` and `docs/*.md` from the code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let root = hermes_docgen::files::repo_root();
    match hermes_docgen::files::write(&root) {
        Ok(written) if written.is_empty() => {
            println!("docs: every generated block is up to date");
            ExitCode::SUCCESS
        }
        Ok(written) => {
            for path in written {
                let shown = path.strip_prefix(&root).unwrap_or(&path);
                println!("docs: rewrote {}", shown.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docs: {e}");
            ExitCode::FAILURE
        }
    }
}
