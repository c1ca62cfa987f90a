//! The `llm-bridge` binary: parse flags, load configuration, start serving.

use std::process::ExitCode;

use clap::Parser;
use llm_bridge::app::{self, AppState};
use llm_bridge::cache::file::report_at_startup;
use llm_bridge::cache_cli;
use llm_bridge::cli::{Cli, Command, ServeArgs};
use llm_bridge::config::{Config, Env};
use llm_bridge::request_log::RequestLog;
use llm_bridge::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    // `.env` is optional; variables already in the environment win over it.
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Err(error) = dotenv.as_ref().map(|_| ()) {
        if !error.not_found() {
            eprintln!("llm-bridge: warning: .env was not loaded: {error}");
        }
    }
    let outcome = match cli.into_command() {
        Command::Serve(args) => serve(args).await,
        Command::Cache(args) => cache_cli::run(args),
        Command::Keys(args) => llm_bridge::keys_cli::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("llm-bridge: {message}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    let config = Config::resolve(&args, &Env::from_process()).map_err(|e| e.to_string())?;
    let _stderr_guard = telemetry::init_stderr();
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
    let state = AppState::new(config, request_log).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("llm-bridge listening on http://{local}/v1");
    tokio::task::spawn_blocking(move || report_at_startup(&cache_dir));
    app::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
