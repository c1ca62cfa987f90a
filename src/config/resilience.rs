//! Settings that keep answers coming when providers fail: timeouts, retries,
//! concurrency caps, key cool-down and per-model fallback lists.
//!
//! Timeouts and `[retry]` are set for every provider at the top level of the
//! config file and per provider (`[providers.NAME]`, `[providers.NAME.retry]`);
//! a provider's own value wins, field by field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::file::{LoadedFile, ProviderSection};
use super::providers::{ModelTarget, ProviderConfig, check_known, locate, parse_target};
use super::{ConfigError, FileConfig};

/// Connect timeout: long enough for a slow TLS handshake through a proxy.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to the first byte of the answer body. Reasoning models can think for
/// minutes before the first byte of a non-streamed answer, so this is
/// generous.
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest silence between two chunks of a body: as long as the first byte,
/// because some models think silently in the middle of a stream too.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest a whole exchange may take, retries and stream included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(1800);
/// How long a key that got 401 or 429 is skipped when others are available.
pub const DEFAULT_KEY_COOLDOWN: Duration = Duration::from_secs(60);
/// Requests waiting for a free slot when `max_concurrent` is set.
pub const DEFAULT_MAX_QUEUED: usize = 100;

/// Upstream timeouts of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the first byte of the answer body.
    pub first_byte: Duration,
    /// Between two chunks of the answer body.
    pub idle: Duration,
    /// The whole exchange, from the request's arrival to the end of the body.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            first_byte: DEFAULT_FIRST_BYTE_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            total: DEFAULT_TOTAL_TIMEOUT,
        }
    }
}

/// When and how often a failed upstream call is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one, with
    /// jitter.
    pub backoff: Duration,
    /// Ceiling of the doubled wait.
    pub max_backoff: Duration,
    /// A `Retry-After` up to this is waited for; a longer one ends retrying
    /// at once and goes to the client (or the next fallback).
    pub max_retry_after: Duration,
    /// No retry starts later than this after the first attempt.
    pub max_retry_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(10),
            max_retry_time: Duration::from_secs(30),
        }
    }
}

/// A cap on a provider's concurrent upstream requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    pub max_concurrent: usize,
    /// Requests that may wait for a slot; past that, 503 at once.
    pub max_queued: usize,
}

/// `[retry]` and `[providers.NAME.retry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<Spanned<u64>>,
    pub max_backoff_ms: Option<Spanned<u64>>,
    pub max_retry_after_secs: Option<u64>,
    pub max_retry_secs: Option<u64>,
}

/// What a provider gets from this module.
pub struct Resilience {
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub concurrency: Option<ConcurrencyLimit>,
    pub key_cooldown: Duration,
}

/// Timeouts, retry policy, concurrency cap and key cool-down of provider
/// `name` from its section and the file's top level.
pub fn resolve_provider(
    name: &str,
    section: Option<&ProviderSection>,
    file: Option<&LoadedFile>,
) -> Result<Resilience, ConfigError> {
    let global = file.map(|f| &f.config);
    // Only the first bad value is reported, so this order is part of what
    // a user sees: timeouts, retry, concurrency, cool-down.
    let timeouts = timeouts(name, section, global, file)?;
    let retry = retry_policy(
        section.and_then(|s| s.retry.as_ref()),
        global.map(|g| &g.retry),
        file,
        name,
    )?;
    let concurrency = concurrency_limit(name, section, file)?;
    let key_cooldown = key_cooldown(name, section, file)?;
    Ok(Resilience {
        timeouts,
        retry,
        concurrency,
        key_cooldown,
    })
}

/// The four timeouts: the provider's own value, else the top-level one, else
/// the default.
fn timeouts(
    name: &str,
    section: Option<&ProviderSection>,
    global: Option<&FileConfig>,
    file: Option<&LoadedFile>,
) -> Result<Timeouts, ConfigError> {
    let secs = |own: Option<&Spanned<u64>>, shared: Option<&Spanned<u64>>, key: &str| {
        timeout_secs(own, shared, file, &format!("providers.{name}.{key}"), key)
    };
    let defaults = Timeouts::default();
    Ok(Timeouts {
        connect: secs(
            section.and_then(|s| s.connect_timeout_secs.as_ref()),
            global.and_then(|g| g.connect_timeout_secs.as_ref()),
            "connect_timeout_secs",
        )?
        .unwrap_or(defaults.connect),
        first_byte: secs(
            section.and_then(|s| s.first_byte_timeout_secs.as_ref()),
            global.and_then(|g| g.first_byte_timeout_secs.as_ref()),
            "first_byte_timeout_secs",
        )?
        .unwrap_or(defaults.first_byte),
        idle: secs(
            section.and_then(|s| s.idle_timeout_secs.as_ref()),
            global.and_then(|g| g.idle_timeout_secs.as_ref()),
            "idle_timeout_secs",
        )?
        .unwrap_or(defaults.idle),
        total: secs(
            section.and_then(|s| s.total_timeout_secs.as_ref()),
            global.and_then(|g| g.total_timeout_secs.as_ref()),
            "total_timeout_secs",
        )?
        .unwrap_or(defaults.total),
    })
}

/// One timeout, the provider's value (`own_field`) winning over the top
/// level's (`shared_field`); `None` when neither sets it.
fn timeout_secs(
    own: Option<&Spanned<u64>>,
    shared: Option<&Spanned<u64>>,
    file: Option<&LoadedFile>,
    own_field: &str,
    shared_field: &str,
) -> Result<Option<Duration>, ConfigError> {
    match (own, shared) {
        (Some(v), _) => nonzero_secs(v, || locate(file, v, own_field)).map(Some),
        (None, Some(v)) => nonzero_secs(v, || locate(file, v, shared_field)).map(Some),
        (None, None) => Ok(None),
    }
}

/// `max_concurrent` and `max_queued`; no cap unless `max_concurrent` is set.
fn concurrency_limit(
    name: &str,
    section: Option<&ProviderSection>,
    file: Option<&LoadedFile>,
) -> Result<Option<ConcurrencyLimit>, ConfigError> {
    match section.and_then(|s| s.max_concurrent.as_ref()) {
        Some(max) if *max.get_ref() == 0 => Err(ConfigError::Invalid {
            location: locate(file, max, &format!("providers.{name}.max_concurrent")),
            message: "must be greater than 0 (leave it out for no cap)".into(),
        }),
        Some(max) => Ok(Some(ConcurrencyLimit {
            max_concurrent: *max.get_ref(),
            max_queued: section
                .and_then(|s| s.max_queued)
                .unwrap_or(DEFAULT_MAX_QUEUED),
        })),
        None => Ok(None),
    }
}

/// `key_cooldown_secs`, set per provider only.
fn key_cooldown(
    name: &str,
    section: Option<&ProviderSection>,
    file: Option<&LoadedFile>,
) -> Result<Duration, ConfigError> {
    match section.and_then(|s| s.key_cooldown_secs.as_ref()) {
        Some(v) => nonzero_secs(v, || {
            locate(file, v, &format!("providers.{name}.key_cooldown_secs"))
        }),
        None => Ok(DEFAULT_KEY_COOLDOWN),
    }
}

fn retry_policy(
    own: Option<&RetrySection>,
    shared: Option<&RetrySection>,
    file: Option<&LoadedFile>,
    provider: &str,
) -> Result<RetryPolicy, ConfigError> {
    let defaults = RetryPolicy::default();
    let pick = |f: fn(&RetrySection) -> Option<u64>| own.and_then(f).or_else(|| shared.and_then(f));
    let millis = |f: fn(&RetrySection) -> Option<&Spanned<u64>>, key: &str| {
        let (value, field) = match (own.and_then(f), shared.and_then(f)) {
            (Some(v), _) => (v, format!("providers.{provider}.retry.{key}")),
            (None, Some(v)) => (v, format!("retry.{key}")),
            (None, None) => return Ok(None),
        };
        match *value.get_ref() {
            0 => Err(ConfigError::Invalid {
                location: locate(file, value, &field),
                message: "must be greater than 0".into(),
            }),
            ms => Ok(Some(Duration::from_millis(ms))),
        }
    };
    let policy = RetryPolicy {
        max_retries: own
            .and_then(|s| s.max_retries)
            .or_else(|| shared.and_then(|s| s.max_retries))
            .unwrap_or(defaults.max_retries),
        backoff: millis(|s| s.backoff_ms.as_ref(), "backoff_ms")?.unwrap_or(defaults.backoff),
        max_backoff: millis(|s| s.max_backoff_ms.as_ref(), "max_backoff_ms")?
            .unwrap_or(defaults.max_backoff),
        max_retry_after: pick(|s| s.max_retry_after_secs)
            .map_or(defaults.max_retry_after, Duration::from_secs),
        max_retry_time: pick(|s| s.max_retry_secs)
            .map_or(defaults.max_retry_time, Duration::from_secs),
    };
    Ok(RetryPolicy {
        max_backoff: policy.max_backoff.max(policy.backoff),
        ..policy
    })
}

/// `[fallbacks]`: a model (as clients name it, or as `provider/model`) mapped
/// to the models tried, in order, when it fails.
pub fn resolve_fallbacks(
    providers: &[ProviderConfig],
    file: Option<&LoadedFile>,
) -> Result<BTreeMap<String, Vec<ModelTarget>>, ConfigError> {
    let Some(loaded) = file else {
        return Ok(BTreeMap::new());
    };
    let config: &FileConfig = &loaded.config;
    let mut fallbacks = BTreeMap::new();
    for (model, targets) in &config.fallbacks {
        let location = || loaded.locate(targets, &format!("fallbacks.\"{model}\""));
        let mut list = Vec::new();
        for target in targets.get_ref() {
            let parsed = parse_target(target).ok_or_else(|| ConfigError::Invalid {
                location: location(),
                message: format!("`{target}` must be written as provider/model"),
            })?;
            check_known(providers, &parsed.provider, location)?;
            list.push(parsed);
        }
        fallbacks.insert(model.clone(), list);
    }
    Ok(fallbacks)
}

fn nonzero_secs(
    value: &Spanned<u64>,
    location: impl Fn() -> String,
) -> Result<Duration, ConfigError> {
    match *value.get_ref() {
        0 => Err(ConfigError::Invalid {
            location: location(),
            message: "must be greater than 0".into(),
        }),
        secs => Ok(Duration::from_secs(secs)),
    }
}
