//! The `llm-bridge` binary: parse flags, load configuration, start serving.

use std::process::ExitCode;

use clap::Parser;
use llm_bridge::app::{self, AppState};
use llm_bridge::cache::file::report_at_startup;
use llm_bridge::cache_cli;
use llm_bridge::cli::{Cli, Command, KeysCommand};
use llm_bridge::config::Env;
use llm_bridge::dotenv;
use llm_bridge::reload::{self, ConfigSource};
use llm_bridge::request_log::RequestLog;
use llm_bridge::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    // `.env` is optional; variables already in the environment win over it.
    // It is loaded into the environment so flags can come from it too. The
    // environment as it was before is kept: reloads start from it, and it
    // tells which `.env` values the real environment shadows.
    let process_env = Env::from_process();
    let env_file = dotenv::path(&process_env);
    let dotenv_failed = dotenvy::from_path(&env_file).is_err_and(|e| !e.not_found());
    let command = Cli::parse().into_command();
    if dotenv_failed
        && !reports_env_file_itself(&command, &env_file)
        && let Err(why) = dotenv::read(&env_file)
    {
        eprintln!("llm-bridge: warning: {why}");
    }
    let outcome = match command {
        Command::Serve(args) => serve(ConfigSource::new(args, process_env, env_file)).await,
        Command::Cache(args) => cache_cli::run(args),
        Command::Keys(args) => llm_bridge::keys_cli::run(args, &process_env),
        Command::Stats(args) => llm_bridge::stats::cli::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("llm-bridge: {message}");
            ExitCode::from(2)
        }
    }
}

/// Whether `command` reports a `.env` it cannot read on its own, so that it
/// is reported once: `serve` refuses to start, `keys list` names the line.
fn reports_env_file_itself(command: &Command, env_file: &std::path::Path) -> bool {
    match command {
        Command::Serve(_) => true,
        Command::Keys(keys) => {
            matches!(keys.command, KeysCommand::List) && keys.env_file == env_file
        }
        Command::Cache(_) | Command::Stats(_) => false,
    }
}

async fn serve(source: ConfigSource) -> Result<ExitCode, String> {
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
    let cache_dir = config.cache_dir.clone();
    // The tokenizer tables take tens of MB and a fraction of a second to
    // build: only when token limits will need them, and before the first
    // request does.
    if config.limits.counts_tokens() {
        llm_bridge::tokens::warm_up();
    }
    let state = AppState::new(config, request_log).map_err(|e| e.to_string())?;
    reload::spawn(state.clone(), source);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("llm-bridge listening on http://{local}/v1");
    tokio::task::spawn_blocking(move || report_at_startup(&cache_dir));
    let mut signals = StopSignals::listen();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = app::serve(listener, state, async {
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
