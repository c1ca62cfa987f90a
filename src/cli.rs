//! Command-line interface: what `llm-bridge --help` shows.
//!
//! Every `serve` option can also come from the environment (named after the
//! flag) and from the config file; [`crate::config`] applies the order
//! flag > environment > config file > default. Flags hold only what the user
//! typed, so that order can be applied after the config file is read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One binary between OpenAI-style clients and every LLM provider.
///
/// Point the OpenAI SDKs, curl or Cherry Studio at http://127.0.0.1:6688/v1 and
/// name a model as `provider/model` (e.g. `deepseek/deepseek-chat`) or by a bare
/// name (`gpt-4.1`, `deepseek-chat`, `qwen-plus`, `gemini-2.5-flash`).
/// Provider keys come from the environment or `.env` (OPENAI_API_KEY,
/// DEEPSEEK_API_KEY, OPENROUTER_API_KEY, QWEN_API_KEY or DASHSCOPE_API_KEY,
/// GEMINI_API_KEY or GOOGLE_API_KEY). Without a subcommand, runs `serve`.
#[derive(Debug, Parser)]
#[command(name = "llm-bridge", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default when no subcommand is given).
    Serve(ServeArgs),
}

/// Options of `serve`. Each is `None` when neither the flag nor its
/// environment variable was given.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:6688]. Listening beyond
    /// loopback requires ACCESS_API_KEYS.
    #[arg(long, env = "LLM_BRIDGE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Config file [default: llm-bridge.toml in the working directory, when
    /// present].
    #[arg(long, env = "LLM_BRIDGE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder of the response cache [default: llm_cache].
    #[arg(long, env = "LLM_BRIDGE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Folder of the request log files [default: logs].
    #[arg(long, env = "LLM_BRIDGE_LOG_DIR", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

impl Cli {
    /// The `serve` options, whether given after `serve` or without it.
    pub fn serve_args(self) -> ServeArgs {
        match self.command {
            Some(Command::Serve(args)) => args,
            None => self.serve,
        }
    }
}
