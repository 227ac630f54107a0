//! The command line: `--help`, `--version`, `--check`, or (no argument) serve.
//! Everything else is configured by environment variables, listed by `--help`
//! from the one table in `hermes_interface::env`.

use std::fmt::Write as _;

use hermes_interface::env;

use crate::config::Config;
use crate::state::VERSION;

/// What the process was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Serve,
    Help,
    Version,
    Check,
}

/// Every flag, with its one-line meaning (the order `--help` prints).
pub const FLAGS: &[(&str, &str)] = &[
    ("--help, -h", "print this help and exit"),
    (
        "--version, -V",
        "print the version and build information and exit",
    ),
    (
        "--check",
        "validate the configuration and the declared model files, print what would be \
         loaded and the memory it needs, exit 0 (ok) or 2 (invalid) without listening",
    ),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown argument {0:?}: expected one of --help, --version, --check (or none, to serve)")]
pub struct UnknownArgument(pub String);

/// Parses the arguments after the program name; at most one flag.
pub fn parse(args: &[String]) -> Result<Command, UnknownArgument> {
    match args {
        [] => Ok(Command::Serve),
        [one] => match one.as_str() {
            "--help" | "-h" | "help" => Ok(Command::Help),
            "--version" | "-V" => Ok(Command::Version),
            "--check" => Ok(Command::Check),
            other => Err(UnknownArgument(other.to_owned())),
        },
        [_, extra, ..] => Err(UnknownArgument(extra.clone())),
    }
}

/// `--help`: what it is, how to run it, every variable with default and meaning.
pub fn help() -> String {
    let mut out = format!(
        "hermes-runtime {VERSION}: the Hermes inference server (embeddings, speech-to-text, \
         text-to-speech, LLM gateway) behind the canonical Hermes HTTP API.\n\n\
         USAGE:\n    hermes-runtime [FLAG]\n\nFLAGS:\n"
    );
    for (flag, meaning) in FLAGS {
        let _ = writeln!(out, "    {flag:<15} {meaning}");
    }
    out.push_str(
        "\nCONFIGURATION: environment variables only, validated once at start; an invalid \
         value exits 2 before listening. Empty counts as unset.\n",
    );
    let mut group = "";
    for var in env::VARS {
        if var.group != group {
            group = var.group;
            let _ = writeln!(out, "\n  [{group}]");
        }
        let _ = writeln!(out, "    {:<36} {}", var.name, var.meaning);
        let _ = writeln!(out, "    {:<36} default: {}", "", var.default);
    }
    out.push_str("\nDocs: docs/runtime-api.md#configuration (generated from the same table).\n");
    out
}

/// `--version`: the version and what this binary was built with.
pub fn version() -> String {
    format!(
        "hermes-runtime {VERSION}\nbuild: {} profile, {}-{}\nengines: candle (embeddings, local LLM), \
         whisper.cpp via whisper-rs (speech-to-text, x86-64-v3), ONNX Runtime loaded at run time \
         (text-to-speech)\n",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::env::consts::ARCH,
        std::env::consts::OS,
    )
}

/// `--check`: what `config` would load and the memory it expects (catalog figures).
pub fn check_report(config: &Config) -> String {
    let mut out = format!(
        "configuration ok: would listen on {}:{}, model dir {}\n",
        config.host,
        config.port,
        config.model_dir.display()
    );
    let mut total = 0u64;
    for model in &config.models {
        total += model.footprint_bytes;
        let _ = writeln!(
            out,
            "  load {:<24} {:<9} ~{:>5} MiB resident, ~{:.1} s to load (catalog, {})",
            model.id,
            model.task.as_str(),
            model.footprint_bytes / (1024 * 1024),
            model.load_seconds,
            match model.provenance {
                hermes_interface::Provenance::Measured(_) => "measured",
                hermes_interface::Provenance::Estimate(_) => "estimate",
            },
        );
    }
    for model in &config.skipped_models {
        let _ = writeln!(
            out,
            "  skip {:<24} {:<9} (installed; this build does not serve its capability)",
            model.id,
            model.task.as_str()
        );
    }
    if config.models.is_empty() {
        out.push_str("  no model to load: every capability would be unavailable\n");
    }
    let _ = writeln!(
        out,
        "expected model memory: ~{} MiB (weights, as measured in the catalog)",
        total / (1024 * 1024)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_parse_and_unknown_ones_name_the_valid_ones() {
        assert_eq!(parse(&args(&[])), Ok(Command::Serve));
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
        assert_eq!(parse(&args(&["-h"])), Ok(Command::Help));
        assert_eq!(parse(&args(&["--version"])), Ok(Command::Version));
        assert_eq!(parse(&args(&["--check"])), Ok(Command::Check));
        let err = parse(&args(&["--port=9"])).unwrap_err();
        assert!(
            err.to_string().contains("--help, --version, --check"),
            "{err}"
        );
        assert!(parse(&args(&["--check", "--help"])).is_err());
    }

    #[test]
    fn help_lists_every_variable_with_its_default() {
        let text = help();
        for var in env::VARS {
            assert!(text.contains(var.name), "{} missing from --help", var.name);
            assert!(
                text.contains(var.default),
                "default of {} missing",
                var.name
            );
        }
    }
}
