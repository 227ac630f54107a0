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
    /// Run the controller (only while this replica holds the leader Lease) and serve
    /// /metrics, /healthz and /readyz.
    Run(RunArgs),
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

#[derive(clap::Args)]
struct RunArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(
        long,
        env = "HERMES_OPERATOR_METRICS_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    metrics_addr: std::net::SocketAddr,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "HERMES_OPERATOR_LEASE_NAME",
        default_value = "hermes-operator-leader"
    )]
    lease_name: String,
    /// Namespace of the Lease (the operator's own; the chart sets it from the pod).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's identity in the Lease (the chart passes the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
}

impl From<RunArgs> for hermes_operator::run::Options {
    fn from(a: RunArgs) -> Self {
        hermes_operator::run::Options {
            metrics_addr: a.metrics_addr,
            lease_name: a.lease_name,
            lease_namespace: a.lease_namespace,
            identity: a.identity,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .json()
                .init();
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("hermes-operator run: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(hermes_operator::run::run(args.into())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "hermes-operator stopped");
                    ExitCode::FAILURE
                }
            }
        }
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
