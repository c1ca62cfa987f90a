//! `[redis]`: the cache shared by several instances.
//!
//! ```toml
//! [redis]
//! url = "redis://127.0.0.1:6379/0"   # or rediss:// for TLS; LLM_BRIDGE_REDIS_URL wins
//! local_tier = true                  # keep the flat files in front (default)
//! timeout_ms = 250                   # each command, and each connection attempt
//! retry_after_ms = 1000              # after a failure, Redis is left alone this long
//! lease_ms = 5000                    # single flight's lease, renewed while its holder calls
//! prefix = "llm-bridge"              # the keys' prefix, to share one Redis
//! ```
//!
//! The password goes in the URL (`redis://:secret@host/`) or in
//! `LLM_BRIDGE_REDIS_PASSWORD`. Neither is ever printed.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::file::LoadedFile;
use super::{ConfigError, Env, Secret};

/// The variable that names the Redis URL (over the config file's).
pub const URL_VAR: &str = "LLM_BRIDGE_REDIS_URL";
/// The variable that holds the password, when the URL has none.
pub const PASSWORD_VAR: &str = "LLM_BRIDGE_REDIS_PASSWORD";
/// Longest a command (or a connection attempt) may take before the
/// instance goes on without Redis.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
pub const DEFAULT_PREFIX: &str = "llm-bridge";
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// `[redis]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSection {
    pub url: Option<Spanned<String>>,
    pub local_tier: Option<bool>,
    pub timeout_ms: Option<Spanned<u64>>,
    pub retry_after_ms: Option<Spanned<u64>>,
    pub lease_ms: Option<Spanned<u64>>,
    pub prefix: Option<Spanned<String>>,
}

/// Validated Redis settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// With the password in it when one was given apart; printed masked.
    pub url: Secret,
    pub local_tier: bool,
    pub timeout: Duration,
    /// After a failure, how long Redis is not asked (so a dead Redis costs
    /// one timeout per period, not one per request).
    pub retry_after: Duration,
    /// How long an instance's lease on a key lives unless renewed: how long
    /// the others wait before one takes over from an instance that died.
    pub lease: Duration,
    pub prefix: String,
}

/// The Redis settings of the process environment and the config file
/// `config` names (or `llm-bridge.toml`), for the `cache` commands.
pub fn read(config: Option<&std::path::Path>) -> Result<Option<RedisConfig>, ConfigError> {
    resolve(&Env::from_process(), super::load_file(config)?.as_ref())
}

/// The Redis settings, when a URL is given.
pub fn resolve(env: &Env, file: Option<&LoadedFile>) -> Result<Option<RedisConfig>, ConfigError> {
    let empty = RedisSection::default();
    let raw = file.map_or(&empty, |f| &f.config.redis);
    let (url, source) = match (env.get(URL_VAR), &raw.url) {
        (Some(url), _) => (url.to_string(), URL_VAR.to_string()),
        (None, Some(url)) => (
            url.get_ref().trim().to_string(),
            file.map_or_else(|| "redis.url".into(), |f| f.locate(url, "redis.url")),
        ),
        (None, None) => return Ok(None),
    };
    let invalid = |message: String| ConfigError::Invalid {
        location: source.clone(),
        message,
    };
    let parsed = reqwest::Url::parse(&url).map_err(|e| {
        invalid(format!(
            "not a URL ({e}): use redis://host:6379/0 or rediss://…"
        ))
    })?;
    if !matches!(parsed.scheme(), "redis" | "rediss") {
        return Err(invalid(format!(
            "the scheme is `{}`: use redis:// or rediss://",
            parsed.scheme()
        )));
    }
    let url = with_password(parsed, env.get(PASSWORD_VAR));
    let timeout = super::positive(&raw.timeout_ms, "redis.timeout_ms", file)?
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let retry_after = super::positive(&raw.retry_after_ms, "redis.retry_after_ms", file)?
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_millis);
    let lease = super::positive(&raw.lease_ms, "redis.lease_ms", file)?
        .map_or(DEFAULT_LEASE, Duration::from_millis);
    let prefix = raw
        .prefix
        .as_ref()
        .map_or(DEFAULT_PREFIX, |p| p.get_ref().as_str())
        .to_string();
    Ok(Some(RedisConfig {
        url: Secret::new(url),
        local_tier: raw.local_tier.unwrap_or(true),
        timeout,
        retry_after,
        lease,
        prefix,
    }))
}

/// `url` with `password` in it, unless it carries one already.
fn with_password(mut url: reqwest::Url, password: Option<&str>) -> String {
    if let Some(password) = password
        && url.password().is_none()
    {
        let _ = url.set_password(Some(password));
    }
    url.to_string()
}
