//! SIGTERM / SIGINT handling: the first signal starts a graceful shutdown.

use tokio::signal::unix::{SignalKind, signal};

/// Resolves with the name of the first SIGTERM or SIGINT received. If the handlers
/// cannot be installed (never on Linux), it never resolves rather than stopping
/// the server.
pub async fn signal_received() -> &'static str {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; shutdown only by kill");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
