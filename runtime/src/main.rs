//! `hermes-runtime`: validates the configuration, then serves until SIGTERM.
//! Exit codes: 0 after a signal, 2 for invalid configuration, 1 for any other
//! failure (cannot listen, a model failed to load).

use std::process::ExitCode;
use std::time::Duration;

use hermes_runtime::config::Config;
use hermes_runtime::{logging, server};

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hermes-runtime: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(config.log_format);
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
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "hermes-runtime stopped");
            eprintln!("hermes-runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
