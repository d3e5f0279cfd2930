//! SIGINT and SIGTERM during a run: a stop with reports, then a quit without them.

use crate::results::EXIT_ERROR;
use crate::run;

/// Turns SIGINT and SIGTERM into a stop of the run (cases in flight get a grace period,
/// reports are written marked incomplete); a second signal exits at once with code 2.
/// The task ends with the returned guard.
pub(super) fn watch_signals(stop: run::Stop) -> SignalGuard {
    let task = tokio::spawn(async move {
        let mut signals = 0;
        loop {
            let name = next_signal().await;
            signals += 1;
            if signals > 1 {
                eprintln!("\nwsspec: {name} again: quitting without reports");
                std::process::exit(EXIT_ERROR);
            }
            eprintln!(
                "\nwsspec: {name}: stopping; cases in flight get a moment, then reports are written (again to quit at once)"
            );
            stop.trigger(format!("interrupted by {name}"));
        }
    });
    SignalGuard(task)
}

/// Stops listening for signals when dropped.
pub(super) struct SignalGuard(tokio::task::JoinHandle<()>);

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(unix)]
pub(super) async fn next_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
pub(super) async fn next_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}
