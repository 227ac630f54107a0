//! hermes-operator: `run` the controller, print the `crd`, or `render` a resource offline.

use clap::{Parser, Subcommand};
use hermes_operator::crd::HermesDeployment;
use kube::CustomResourceExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hermes-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the HermesDeployment CustomResourceDefinition as YAML.
    Crd,
    /// Print every object the operator would apply for a HermesDeployment file, with the
    /// memory calculation. Offline: no cluster needed.
    Render {
        /// HermesDeployment YAML (several documents allowed); `-` reads stdin.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Namespace of documents that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match serde_saphyr::to_string(&HermesDeployment::crd()) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hermes-operator crd: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Render { file, namespace } => {
            let input = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            };
            let result = input
                .map_err(|e| format!("{}: {e}", file.display()))
                .and_then(|yaml| {
                    hermes_operator::render::render(
                        &yaml,
                        &namespace,
                        &hermes_operator::catalog::Catalog::builtin(),
                    )
                    .map_err(|e| e.to_string())
                });
            match result {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("hermes-operator render: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
