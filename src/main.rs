//! The `llm-bridge` binary: load `.env`, parse flags, run the command.

use std::process::ExitCode;

use clap::Parser;
use llm_bridge::cli::{self, Cli, Command, KeysCommand};
use llm_bridge::config::{Env, dotenv};
use llm_bridge::wiring::reload::ConfigSource;

/// Threads tokio may start for blocking work (large cache reads, lookups
/// before the start-up scan has finished, long token estimates, reports).
/// Its default, 512, lets a burst grow hundreds of threads, each with its
/// own allocator arena that keeps memory after the burst.
const MAX_BLOCKING_THREADS: usize = 8;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("llm-bridge: cannot start the async runtime: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> ExitCode {
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
        Command::Serve(args) => {
            let source = ConfigSource::new(args.overrides(), process_env, env_file);
            llm_bridge::wiring::run::run(source).await
        }
        Command::Cache(args) => cli::cache::run(args),
        Command::Keys(args) => cli::keys::run(args, &process_env),
        Command::Stats(args) => cli::stats::run(args),
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
