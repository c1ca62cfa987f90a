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
#[command(
    name = "llm-bridge",
    version,
    args_conflicts_with_subcommands = true,
    after_long_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The rest of the configuration, shown by `--help`.
const ENVIRONMENT_HELP: &str = "\
Environment (also read from .env in the working directory; real variables win):
  ACCESS_API_KEYS      Comma-separated keys clients must send as `Authorization: Bearer KEY`,
                       `x-api-key` or `api-key`. Empty: open, loopback only, and providers
                       without a key get the client's own key.
  NAME_API_KEY         Key of provider NAME (OPENAI, DEEPSEEK, OPENROUTER, QWEN, GEMINI, or a
                       provider from the config file). Also DASHSCOPE_API_KEY, GOOGLE_API_KEY.
  NAME_BASE_URL        Replaces provider NAME's base URL.
  LLM_BRIDGE_PROXY     Upstream proxy (socks5://, socks5h://, http://) for providers without
                       their own.
  RUST_LOG             Level of the stderr log (default: info).

Config file (TOML): listen, cache_dir, log_dir, default_provider, proxy, max_body_bytes,
connect_timeout_secs, read_timeout_secs, cors_origins, [log] max_file_bytes / max_files / log_bodies,
[aliases] NAME = \"provider/model\", [providers.NAME] base_url / api_key_env / headers /
proxy / models / connect_timeout_secs / read_timeout_secs. See llm-bridge.example.toml.

Endpoints (also without /v1): POST /v1/chat/completions, GET /v1/models, GET /health.";

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

    /// What the cache does [default: read-write].
    #[arg(long, env = "LLM_BRIDGE_CACHE_MODE", value_name = "MODE", value_enum)]
    pub cache_mode: Option<crate::config::CacheMode>,

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
