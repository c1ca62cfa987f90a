//! Configuration: raw inputs (flags, environment, config file) in, one
//! validated [`Config`] out.
//!
//! Order for every setting: flag > environment > config file > default. The
//! environment is read once, at start-up, into an [`Env`] snapshot; nothing
//! reads the process environment after that, and tests build their own
//! snapshot so they never race on process-global state.

mod advice;
pub mod budgets;
mod builtin;
mod cache;
pub mod dotenv;
pub mod env_file;
mod file;
mod file_error;
mod hosts;
mod limits;
pub mod live;
mod prices;
mod providers;
pub mod redis;
mod resilience;
pub mod secret;
mod server;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

pub use budgets::{Budget, BudgetsConfig};
pub use builtin::{BARE_NAME_PREFIXES, BUILTIN_PROVIDERS};
pub use cache::{CacheConfig, CacheMode, CacheScope};
pub use file::{FileConfig, LoadedFile};
pub use limits::{LimitConfig, LimitsConfig};
pub use providers::{ModelTarget, ProviderConfig, ProviderKind};
pub use resilience::{
    ConcurrencyLimit, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FIRST_BYTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT, RetryPolicy, Timeouts,
};
pub use secret::Secret;
pub use server::ServerConfig;
pub use stats::{DEFAULT_DATA_DIR, StatsConfig, resolve_data_dir, resolve_stats_url};

/// Default listen address: loopback only, the port LLM_cache.py used.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6688";
/// Config file looked for in the working directory when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "llm-bridge.toml";
/// Largest request body accepted. 10 MiB holds long contexts and a few
/// base64 images; bigger bodies are almost always a mistake.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Request log rotation, as the Python LLM Bridge did: 10 MB × 5 files.
pub const DEFAULT_LOG_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_LOG_MAX_FILES: usize = 5;

/// What the command line (or its environment variables) set for `serve`;
/// `None` where it said nothing, so the config file and defaults apply.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    /// The config file to read.
    pub config: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub cache_mode: Option<CacheMode>,
    pub log_dir: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

/// A snapshot of the environment variables, taken once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// The process environment as it is now (`main.rs` takes it before
    /// loading `.env` into the process, so it holds only real variables).
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// An environment made of the given pairs (for tests and tools).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Sets `name` unless it is set already (real variables win over
    /// `.env`).
    pub fn insert_if_absent(&mut self, name: String, value: String) {
        self.0.entry(name).or_insert(value);
    }

    /// Whether `name` is set at all, even to an empty value (which still
    /// wins over `.env`).
    pub fn is_set(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Whether `name` is set to something else than `value`, so a `.env`
    /// line giving it `value` is not used.
    pub fn shadows(&self, name: &str, value: &str) -> bool {
        self.0.get(name).is_some_and(|set| set != value)
    }

    /// The variable's value, when set and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// Why the configuration was rejected. Messages name the flag, variable or
/// `file:line: field` at fault, and never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error(
        "refusing to listen on {addr} without access keys: anyone who can reach this address \
         could spend your provider credits. Set ACCESS_API_KEYS=key1,key2 (in the environment \
         or .env) to require a key, or listen on a loopback address such as 127.0.0.1:6688"
    )]
    OpenListenAddress { addr: SocketAddr },
}

/// Request-log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub dir: PathBuf,
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Whether request and response bodies go into the request log.
    pub log_bodies: bool,
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub cache: CacheConfig,
    /// Folder of the usage database.
    pub data_dir: PathBuf,
    pub stats: StatsConfig,
    pub log: LogConfig,
    /// Keys clients must present; empty means open (loopback only).
    pub access_keys: Vec<AccessKey>,
    /// Built-in providers first, then the config file's, in file order.
    pub providers: Vec<ProviderConfig>,
    /// Bare model names mapped to a provider and upstream model.
    pub aliases: BTreeMap<String, ModelTarget>,
    /// Provider for names that match nothing else.
    pub default_provider: Option<String>,
    /// Models tried in order when a model fails, by the model's name as
    /// clients write it or as `provider/model`.
    pub fallbacks: BTreeMap<String, Vec<ModelTarget>>,
    /// Requests and tokens per minute, per access key.
    pub limits: LimitsConfig,
    pub max_body_bytes: usize,
    /// Web-page origins allowed besides local and desktop-app ones.
    pub cors_origins: Vec<String>,
    /// `[server] allowed_hosts`: `Host` names answered besides loopback
    /// ones, lower-case, each `name` or `name:port`.
    pub allowed_hosts: Vec<String>,
    pub server: ServerConfig,
    /// Token prices: the built-in table with `[prices]` over it.
    pub prices: crate::prices::PriceTable,
    /// Spend allowed per day and month, for the gateway and per key.
    pub budgets: BudgetsConfig,
    /// The cache shared with other instances, when `[redis] url` is set.
    pub redis: Option<redis::RedisConfig>,
}

impl Config {
    /// Builds the configuration from flags (already merged with their
    /// environment variables by clap), the environment and the config file.
    pub fn resolve(args: &Overrides, env: &Env) -> Result<Self, ConfigError> {
        Self::from_parts(args, env, load_file(args.config.as_deref())?)
    }

    /// Builds the configuration from an already-loaded config file.
    pub fn from_parts(
        args: &Overrides,
        env: &Env,
        file: Option<LoadedFile>,
    ) -> Result<Self, ConfigError> {
        let empty = FileConfig::default();
        let raw = file.as_ref().map_or(&empty, |f| &f.config);
        let listen = resolve_listen(args, file.as_ref())?;
        let access_keys = access_keys(env);
        if access_keys.is_empty() && !listen.ip().is_loopback() {
            return Err(ConfigError::OpenListenAddress { addr: listen });
        }
        let providers = providers::resolve(env, file.as_ref())?;
        let aliases = providers::resolve_aliases(&providers, file.as_ref())?;
        let fallbacks = resilience::resolve_fallbacks(&providers, file.as_ref())?;
        let limits = limits::resolve(file.as_ref(), &access_keys)?;
        let budgets = budgets::resolve(env, file.as_ref(), &access_keys)?;
        let prices = prices::resolve(&providers, file.as_ref())?;
        let default_provider = match (&raw.default_provider, &file) {
            (Some(name), Some(loaded)) => {
                providers::check_known(&providers, name.get_ref(), || {
                    loaded.locate(name, "default_provider")
                })?;
                Some(name.get_ref().clone())
            }
            _ => None,
        };
        Ok(Self {
            listen,
            config_file: file.as_ref().map(|f| f.path.clone()),
            cache_dir: pick(&args.cache_dir, &raw.cache_dir, "llm_cache"),
            cache: cache::resolve(args.cache_mode, file.as_ref())?,
            data_dir: pick(&args.data_dir, &raw.data_dir, DEFAULT_DATA_DIR),
            stats: stats::resolve_with(env, file.as_ref())?,
            log: LogConfig {
                dir: pick(&args.log_dir, &raw.log_dir, "logs"),
                max_file_bytes: positive(
                    &raw.log.max_file_bytes,
                    "log.max_file_bytes",
                    file.as_ref(),
                )?
                .unwrap_or(DEFAULT_LOG_MAX_FILE_BYTES),
                max_files: positive(&raw.log.max_files, "log.max_files", file.as_ref())?
                    .unwrap_or(DEFAULT_LOG_MAX_FILES),
                log_bodies: raw.log.log_bodies.unwrap_or(false),
            },
            access_keys,
            providers,
            aliases,
            default_provider,
            fallbacks,
            limits,
            max_body_bytes: server::resolve_max_body_bytes(file.as_ref())?,
            cors_origins: raw.cors_origins.clone(),
            allowed_hosts: hosts::resolve(file.as_ref())?,
            server: server::resolve(file.as_ref())?,
            prices,
            budgets,
            redis: redis::resolve(env, file.as_ref())?,
        })
    }

    /// A provider by name.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

/// The config file named, or `llm-bridge.toml` when present.
fn load_file(named: Option<&Path>) -> Result<Option<LoadedFile>, ConfigError> {
    match named {
        Some(path) => Ok(Some(LoadedFile::read(path)?)),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
            Ok(Some(LoadedFile::read(Path::new(DEFAULT_CONFIG_FILE))?))
        }
        None => Ok(None),
    }
}

/// The cache folder for the `cache` commands: flag or environment, else the
/// config file's `cache_dir`, else `llm_cache`.
pub fn resolve_cache_dir(
    flag: Option<&Path>,
    config: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let file = load_file(config)?;
    let from_file = file.and_then(|f| f.config.cache_dir);
    Ok(pick(&None, &from_file, "llm_cache"))
}

fn pick(flag: &Option<PathBuf>, file: &Option<PathBuf>, default: &str) -> PathBuf {
    flag.clone()
        .or_else(|| file.clone())
        .unwrap_or_else(|| PathBuf::from(default))
}

fn resolve_listen(args: &Overrides, file: Option<&LoadedFile>) -> Result<SocketAddr, ConfigError> {
    let (text, location) = match (&args.listen, file.and_then(|f| f.config.listen.as_ref())) {
        (Some(flag), _) => (flag.clone(), "--listen / LLM_BRIDGE_LISTEN".to_string()),
        (None, Some(value)) => (
            value.get_ref().clone(),
            file.map(|f| f.locate(value, "listen")).unwrap_or_default(),
        ),
        (None, None) => (DEFAULT_LISTEN.to_string(), "default listen address".into()),
    };
    parse_listen(&text).ok_or_else(|| ConfigError::Invalid {
        location,
        message: format!("`{text}` is not an address like 127.0.0.1:6688 or localhost:6688"),
    })
}

/// `ip:port`, `[ipv6]:port` or `host:port` (resolved once, at start-up).
fn parse_listen(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse() {
        return Some(addr);
    }
    text.to_socket_addrs().ok()?.next()
}

/// One access key, with the name logs, stats and cache groups know it by.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// From `name:key`; `None` for a bare key (then a fingerprint stands in).
    pub name: Option<String>,
    pub secret: Secret,
    /// From `name/admin:key`: may change the gateway from the dashboard
    /// and its API (keys, cache deletions, reloads).
    pub admin: bool,
}

impl AccessKey {
    /// The id logs, limits and cache scopes know it by: its name, or a
    /// fingerprint of a bare key.
    pub fn id(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| secret::fingerprint(self.secret.expose()))
    }
}

/// `ACCESS_API_KEYS`: comma-separated `key`, `name:key` or
/// `name/admin:key`, blanks ignored. A prefix counts as a name only when it
/// is a plain identifier (letters, digits, `-`, `_`, `.`), optionally with
/// `/admin` after it, so keys that contain a colon elsewhere still work.
/// Blanks around the name and the key are dropped (`alice: sk-1` is `alice`
/// with `sk-1`): no client could send a key that starts with a space. An
/// admin key needs a name: it is the one the dashboard shows who acted.
fn access_keys(env: &Env) -> Vec<AccessKey> {
    let Some(list) = env.get("ACCESS_API_KEYS") else {
        return Vec::new();
    };
    list.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(access_key)
        .collect()
}

/// One entry of `ACCESS_API_KEYS`.
fn access_key(entry: &str) -> AccessKey {
    let bare = || AccessKey {
        name: None,
        secret: Secret::new(entry),
        admin: false,
    };
    let Some((prefix, key)) = entry.split_once(':') else {
        return bare();
    };
    let prefix = prefix.trim();
    let (name, admin) = match prefix.strip_suffix("/admin") {
        Some(name) => (name.trim_end(), true),
        None => (prefix, false),
    };
    if !is_key_name(name) || key.trim().is_empty() {
        return bare();
    }
    AccessKey {
        name: Some(name.to_string()),
        secret: Secret::new(key.trim()),
        admin,
    }
}

/// Whether the part before a colon names an access key.
fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A number from the config file that must be above zero.
fn positive<T: Copy + PartialOrd + Default + std::fmt::Display>(
    value: &Option<toml::Spanned<T>>,
    field: &str,
    file: Option<&LoadedFile>,
) -> Result<Option<T>, ConfigError> {
    match (value, file) {
        (Some(v), Some(loaded)) if *v.get_ref() <= T::default() => Err(ConfigError::Invalid {
            location: loaded.locate(v, field),
            message: format!("must be greater than 0, not {}", v.get_ref()),
        }),
        (Some(v), _) => Ok(Some(*v.get_ref())),
        (None, _) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
