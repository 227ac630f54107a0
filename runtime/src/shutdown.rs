//! SIGTERM / SIGINT handling: the first signal starts a graceful shutdown.

use tokio::signal::unix::{SignalKind, signal};

/// Installs the SIGTERM and SIGINT handlers now, and returns a future that resolves
/// with the name of the first one received. Installing eagerly (not on first poll)
/// matters: a signal that arrives between start-up and the first poll would
/// otherwise kill the process with the default action instead of draining it.
/// If the handlers cannot be installed (never on Linux), the future never resolves
/// rather than stopping the server.
pub fn signal_received() -> impl Future<Output = &'static str> {
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot install signal handlers; shutdown only by kill");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}
