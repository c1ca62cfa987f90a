//! `llm-bridge serve`: the configuration loaded, the state built, the
//! listener bound, then serving until Ctrl-C or SIGTERM (a second one stops
//! at once), with the configuration watched for changes meanwhile.

use std::process::ExitCode;

use super::reload::{self, ConfigSource};
use super::{AppState, serve, telemetry};
use crate::request_log::RequestLog;

/// Runs the server; the exit code, or why it could not start.
pub async fn run(source: ConfigSource) -> Result<ExitCode, String> {
    // The log first: loading warns about `.env` values the environment
    // shadows.
    let _stderr_guard = telemetry::init_stderr();
    let config = source.load()?;
    if let Some(advice) = config.missing_key_advice() {
        tracing::warn!("{advice}");
    }
    std::fs::create_dir_all(&config.cache_dir).map_err(|e| {
        format!(
            "cannot create cache folder {}: {e}",
            config.cache_dir.display()
        )
    })?;
    let (request_log, _log_guard) = RequestLog::open(&config.log)
        .map_err(|e| format!("cannot open log folder {}: {e}", config.log.dir.display()))?;
    let listen = config.listen;
    // The tokenizer tables take tens of MB and a fraction of a second to
    // build: only when token limits will need them, and before the first
    // request does.
    if config.limits.counts_tokens() {
        crate::tokens::warm_up();
    }
    let state = AppState::new(config, request_log).map_err(|e| e.to_string())?;
    reload::spawn(state.clone(), source);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("llm-bridge listening on http://{local}/v1");
    let store = state.cache_store();
    tokio::task::spawn_blocking(move || store.report_at_startup());
    super::memory::spawn(state.metrics());
    let mut signals = StopSignals::listen();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = serve(listener, state, async {
        let _ = stopped.await;
    });
    let mut serving = std::pin::pin!(serving);
    tokio::select! {
        result = &mut serving => return finished(result),
        () = signals.next() => {}
    }
    tracing::info!("stopping: finishing requests in flight (stop again to quit at once)");
    let _ = stop.send(());
    // Either way, returning drops the request-log guard, which writes out
    // the lines still queued.
    tokio::select! {
        result = &mut serving => finished(result),
        () = signals.next() => {
            tracing::warn!("stopping at once: requests in flight are cut");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn finished(served: std::io::Result<()>) -> Result<ExitCode, String> {
    served.map_err(|e| format!("server stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C and SIGTERM. Both are registered at start-up and kept, so a
/// signal arriving between two waits is held for the next one.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            () = received(self.interrupt.as_mut()) => {}
            () = received(self.terminate.as_mut()) => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Waits for `signal`; forever when it could not be registered.
#[cfg(unix)]
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
