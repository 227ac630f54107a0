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
    /// Run one canary analysis of a HermesDeployment file against Prometheus and print
    /// each check: query, value, bound, pass/fail/no-data. Exit status 0: every check
    /// passed; 1: a check failed or could not be evaluated; 3: no failure but no data.
    Analyze(AnalyzeArgs),
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// HermesDeployment YAML (the first document is analysed); `-` reads stdin.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// Namespace of a document that names none (the `namespace` label of the series).
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    /// Prometheus base URL, e.g. http://prometheus.monitoring:9090.
    #[arg(long, env = "HERMES_OPERATOR_PROMETHEUS_URL")]
    prometheus: String,
    /// Revision (pod-template hash label) to analyse as the canary.
    #[arg(long)]
    revision: String,
    /// Stable revision, for `compareWithStable`.
    #[arg(long)]
    stable_revision: Option<String>,
    /// `text` (default) or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Output {
    Text,
    Json,
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
    /// Prometheus base URL the canary analyses query (unset: every analysis fails, unless
    /// a resource names its own in rollout.analysis.prometheusUrl).
    #[arg(long, env = "HERMES_OPERATOR_PROMETHEUS_URL")]
    prometheus_url: Option<String>,
}

impl From<RunArgs> for hermes_operator::cli::run::Options {
    fn from(a: RunArgs) -> Self {
        hermes_operator::cli::run::Options {
            metrics_addr: a.metrics_addr,
            lease_name: a.lease_name,
            lease_namespace: a.lease_namespace,
            identity: a.identity,
            prometheus_url: a.prometheus_url,
        }
    }
}

fn read_input(file: &PathBuf) -> Result<String, String> {
    let input = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    };
    input.map_err(|e| format!("{}: {e}", file.display()))
}

fn analyze(args: AnalyzeArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("hermes-operator analyze: {e}");
        ExitCode::from(2)
    };
    let hd = match read_input(&args.file).and_then(|yaml| {
        hermes_operator::cli::render::parse_all(&yaml, &args.namespace).map_err(|e| e.to_string())
    }) {
        Ok(mut all) => all.remove(0),
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(e.to_string()),
    };
    let report = match runtime.block_on(hermes_operator::cli::analyze::analyze(
        &hd,
        &args.prometheus,
        &args.revision,
        args.stable_revision.as_deref(),
    )) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match args.output {
        Output::Text => print!("{}", hermes_operator::cli::analyze::to_text(&report)),
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return fail(e.to_string()),
        },
    }
    ExitCode::from(report.exit_code())
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
            match runtime.block_on(hermes_operator::cli::run::run(args.into())) {
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
        Command::Analyze(args) => analyze(args),
        Command::Render { file, namespace } => {
            let result = read_input(&file).and_then(|yaml| {
                hermes_operator::cli::render::render(
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
