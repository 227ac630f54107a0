//! `hermes-runtime`: parses its flags, validates the configuration, then serves
//! until SIGTERM. Exit codes: 0 after a signal (or a successful `--help`,
//! `--version`, `--check`), 2 for an invalid configuration, an unknown flag or
//! declared models that do not fit the cgroup's memory limit, 1
//! for any other failure (cannot listen, a model failed to load).

use std::process::ExitCode;
use std::time::Duration;

use hermes_runtime::cli::{self, Command};
use hermes_runtime::config::Config;
use hermes_runtime::{logging, memory_budget, server, telemetry};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("hermes-runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            print!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Command::Check | Command::Serve => {}
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hermes-runtime: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let need = memory_budget::Need::of(&config.models, |task| server::concurrency(&config, task));
    if let Err(short) = memory_budget::check(memory_budget::cgroup_limit(), need) {
        eprintln!("hermes-runtime: {short}");
        return ExitCode::from(2);
    }
    if command == Command::Check {
        print!("{}", cli::check_report(&config));
        return ExitCode::SUCCESS;
    }
    let traces = match telemetry::start(&config.tracing) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("hermes-runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(
        config.log_format,
        traces.as_ref().map(telemetry::Tracing::tracer),
    );
    if let Some(traces) = &traces {
        tracing::info!(endpoint = traces.endpoint(), service_name = %config.tracing.service_name, "exporting traces over OTLP/HTTP");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hermes-runtime: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::run(config));
    // A model still loading on a blocking thread must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    // The spans of the last requests (the drain included) are still buffered.
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "hermes-runtime stopped");
            eprintln!("hermes-runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
