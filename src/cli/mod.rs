//! Command-line interface: what `llm-bridge --help` shows.
//!
//! Every `serve` option can also come from the environment (named after the
//! flag) and from the config file; [`crate::config`] applies the order
//! flag > environment > config file > default. Flags hold only what the user
//! typed, so that order can be applied after the config file is read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod cache;
pub mod keys;
pub mod stats;

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
    after_long_help = environment_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The rest of the configuration and the endpoints, shown by `--help` and
/// `serve --help`.
fn environment_help() -> String {
    format!(
        "{ENVIRONMENT_HELP}\n\nEndpoints (the /v1 ones also without /v1): {}.",
        crate::wiring::router::endpoint_list()
    )
}

/// The rest of the configuration, shown by `--help`.
const ENVIRONMENT_HELP: &str = "\
Environment (also read from .env in the working directory; real variables win):
  ACCESS_API_KEYS      Comma-separated keys (`key` or `name:key`) clients must send as
                       `Authorization: Bearer KEY`, `x-api-key` or `api-key`. Empty: open,
                       loopback only, and providers without a key get the client's own key.
  NAME_API_KEY         Key of provider NAME (OPENAI, DEEPSEEK, OPENROUTER, QWEN, GEMINI, or a
                       provider from the config file); several, comma-separated, take turns.
                       Also DASHSCOPE_API_KEY, GOOGLE_API_KEY.
  NAME_BASE_URL        Replaces provider NAME's base URL.
  LLM_BRIDGE_PROXY     Upstream proxy (socks5://, socks5h://, http://) for providers without
                       their own.
  RUST_LOG             Level of the stderr log (default: info).
  LLM_BRIDGE_ENV_FILE  The .env file read at start-up and watched, and the one
                       `llm-bridge keys set|unset|list` edits (default: .env).
  LLM_BRIDGE_DATA_DIR  Folder of the usage database, for `serve` and `stats` (default: data).

.env and the config file are watched while serving (and reloaded on SIGHUP): keys, providers,
aliases, fallbacks and limits change without a restart; a reload that does not validate keeps
the running configuration.

Config file (TOML): listen, cache_dir, log_dir, data_dir, default_provider, proxy,
connect_timeout_secs, first_byte_timeout_secs, idle_timeout_secs, total_timeout_secs,
cors_origins, [retry] max_retries / backoff_ms / max_backoff_ms / max_retry_after_secs /
max_retry_secs, [fallbacks] \"model\" = [\"provider/model\", ...], [limits]
requests_per_minute / tokens_per_minute, [limits.keys.NAME], [log] max_file_bytes / max_files /
log_bodies, [aliases] NAME = \"provider/model\", [providers.NAME] base_url / api_key_env /
headers / proxy / models / the timeouts / max_concurrent / max_queued / key_cooldown_secs /
stream_usage / kind (openai, anthropic, gemini) / responses_api / default_max_tokens,
[providers.NAME.retry], [cache] mode / ignore_fields / max_entry_bytes / max_total_bytes /
ttl_secs / scope / complete_on_disconnect, [cache.groups], [server] max_body_bytes /
bodies_in_flight_bytes / max_connections / header_read_timeout_secs / max_header_bytes / body_read_timeout_secs /
shutdown_grace_secs, [stats] retention_days, [prices.\"provider/model\"] input / cached_input /
cache_write / cache_write_1h / output.
See llm-bridge.example.toml.

Per request: `Cache-Control: no-cache | no-store | max-age=N`, `x-cache-replay: paced`.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default when no subcommand is given).
    #[command(after_long_help = environment_help())]
    Serve(ServeArgs),
    /// Inspect and manage the response cache (works while the server runs).
    Cache(CacheArgs),
    /// Set, unset or list provider keys in .env without a text editor.
    ///
    /// The file is rewritten atomically; comments, other variables and their
    /// order stay as they were. A running `llm-bridge serve` picks up the
    /// change by itself.
    Keys(KeysArgs),
    /// Requests, cache hits, tokens, cost and latency from the usage
    /// database (works while the server runs).
    ///
    /// Example: `llm-bridge stats --since 7d --by model` answers "what did I
    /// spend this week, on which model, and what did the cache save?".
    Stats(StatsArgs),
}

/// `stats`: the window, the grouping and the output.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only requests from this moment on: a duration back from now (7d, 12h),
    /// a date (2026-11-01, UTC midnight) or an RFC 3339 time [default: every
    /// request kept].
    #[arg(long, value_name = "WHEN", value_parser = crate::stats::query::parse_time)]
    pub since: Option<i64>,

    /// Only requests before this moment (same forms as --since) [default: now].
    #[arg(long, value_name = "WHEN", value_parser = crate::stats::query::parse_time)]
    pub until: Option<i64>,

    /// One row per model, provider, access key, UTC day or instance, and a
    /// total [default: the total only].
    #[arg(long, value_name = "GROUP", value_enum)]
    pub by: Option<crate::stats::GroupBy>,

    /// How to print the report.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t)]
    pub format: stats::StatsFormat,

    /// Folder of the usage database [default: data_dir from the config file,
    /// else data]; LLM_BRIDGE_STATS_URL (or [stats] url) reads PostgreSQL
    /// instead.
    #[arg(long, env = "LLM_BRIDGE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Config file to take data_dir from [default: llm-bridge.toml, when
    /// present].
    #[arg(long, env = "LLM_BRIDGE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `keys` and its file.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The file to edit.
    #[arg(
        long,
        env = "LLM_BRIDGE_ENV_FILE",
        value_name = "PATH",
        default_value = ".env",
        global = true
    )]
    pub env_file: PathBuf,

    #[command(subcommand)]
    pub command: KeysCommand,
}

/// What to do with the keys. Values are never printed.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Set variables: a name's first line is replaced in place and its other
    /// lines removed; new names are appended. The file is created (owner-only)
    /// when missing.
    Set {
        /// NAME=VALUE; `NAME=` sets an empty value.
        #[arg(required = true, value_name = "NAME=VALUE", allow_hyphen_values = true)]
        pairs: Vec<String>,
    },
    /// Remove variables.
    Unset {
        /// Variable names.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// The variables set in the file, values masked (e.g. sk-…1111).
    List,
}

/// `cache` and its folder.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Folder of the response cache [default: cache_dir from the config file,
    /// else llm_cache].
    #[arg(long, env = "LLM_BRIDGE_CACHE_DIR", value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// Config file to take cache_dir from [default: llm-bridge.toml, when
    /// present].
    #[arg(long, env = "LLM_BRIDGE_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: CacheCommand,
}

/// What to do with the cache.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries, bytes, oldest and newest entry, and the same by model.
    Stats,
    /// Entries, newest first.
    List {
        /// Only entries for this model: as the client named it, as the
        /// provider knows it, or as `provider/model` (the form `llm-bridge
        /// stats --by model` shows).
        #[arg(long)]
        model: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One entry: its request and response side by side, and its metadata.
    Show {
        /// The cache key (the `x-cache-key` response header), or the start
        /// of it: 8 or more hex digits that only one entry's key starts with.
        key: String,
    },
    /// Look for entries that could never be served (damaged, incomplete,
    /// errors) and leftovers of interrupted writes. Files whose names are not
    /// the cache's own are listed and never touched.
    Check {
        /// Delete what was found (never the files that are not the cache's).
        #[arg(long)]
        purge: bool,
    },
    /// Delete entries.
    Rm {
        /// Cache keys, or unique starts of them (8 or more hex digits).
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Delete every entry.
    Clear,
    /// Delete entries older than a duration.
    Prune {
        /// Age such as 90s, 30m, 12h, 7d or 2w.
        #[arg(long, value_name = "DURATION", value_parser = crate::stats::query::parse_duration)]
        older_than: std::time::Duration,
    },
}

/// Options of `serve`. Each is `None` when neither the flag nor its
/// environment variable was given; [`ServeArgs::overrides`] hands them to
/// the configuration.
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

    /// Folder of the usage database (usage.sqlite3) [default: data].
    #[arg(long, env = "LLM_BRIDGE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl ServeArgs {
    /// What the flags set, for [`crate::config::Config::resolve`].
    pub fn overrides(&self) -> crate::config::Overrides {
        crate::config::Overrides {
            listen: self.listen.clone(),
            config: self.config.clone(),
            cache_dir: self.cache_dir.clone(),
            cache_mode: self.cache_mode,
            log_dir: self.log_dir.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

impl Cli {
    /// The command to run; no subcommand means `serve`.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[cfg(test)]
mod tests {
    use crate::stats::query::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("30m").unwrap().as_secs(), 1800);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 604_800);
        assert_eq!(parse_duration("2w").unwrap().as_secs(), 1_209_600);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
