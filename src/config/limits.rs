//! `[limits]`: requests and tokens per minute for each access key.
//!
//! ```toml
//! [limits]               # every key (and, without access keys, every client)
//! requests_per_minute = 60
//! tokens_per_minute = 200000
//! [limits.keys.alice]    # by access-key name (or fingerprint): replaces [limits]
//! requests_per_minute = 10
//! ```

use std::collections::{BTreeMap, HashMap};
use std::num::{NonZeroU32, NonZeroU64};

use serde::Deserialize;
use toml::Spanned;

use super::file::LoadedFile;
use super::{AccessKey, ConfigError};

/// The limits of one caller; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests a minute, all of them usable at once.
    pub requests_per_minute: Option<NonZeroU32>,
    /// Prompt plus completion tokens a minute.
    pub tokens_per_minute: Option<NonZeroU64>,
}

impl LimitConfig {
    /// Neither requests nor tokens are limited.
    pub fn is_unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// `[limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub requests_per_minute: Option<Spanned<u32>>,
    pub tokens_per_minute: Option<Spanned<u64>>,
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<KeyLimitsSection>>,
}

/// `[limits.keys.NAME]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLimitsSection {
    pub requests_per_minute: Option<Spanned<u32>>,
    pub tokens_per_minute: Option<Spanned<u64>>,
}

/// Validated limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitsConfig {
    /// For every caller without its own entry.
    pub default: LimitConfig,
    /// By access-key id (name, or fingerprint for an unnamed key).
    pub per_key: HashMap<String, LimitConfig>,
}

impl LimitsConfig {
    /// Whether any caller has a tokens-per-minute limit.
    pub fn counts_tokens(&self) -> bool {
        self.default.tokens_per_minute.is_some()
            || self.per_key.values().any(|l| l.tokens_per_minute.is_some())
    }
}

/// Validates `[limits]`; a key section must name a configured access key,
/// so a typo does not silently leave a key unlimited.
pub fn resolve(
    file: Option<&LoadedFile>,
    access_keys: &[AccessKey],
) -> Result<LimitsConfig, ConfigError> {
    let Some(loaded) = file else {
        return Ok(LimitsConfig::default());
    };
    let section = &loaded.config.limits;
    let default = limit(
        loaded,
        &section.requests_per_minute,
        &section.tokens_per_minute,
        "limits",
    )?;
    let known: Vec<String> = access_keys.iter().map(AccessKey::id).collect();
    let mut per_key = HashMap::new();
    for (name, key) in &section.keys {
        if !known.contains(name) {
            return Err(ConfigError::Invalid {
                location: loaded.locate(key, &format!("limits.keys.{name}")),
                message: format!(
                    "no access key is named `{name}`: name keys in ACCESS_API_KEYS as name:key"
                ),
            });
        }
        let key = key.get_ref();
        let own = limit(
            loaded,
            &key.requests_per_minute,
            &key.tokens_per_minute,
            &format!("limits.keys.{name}"),
        )?;
        per_key.insert(name.clone(), own);
    }
    Ok(LimitsConfig { default, per_key })
}

fn limit(
    loaded: &LoadedFile,
    requests: &Option<Spanned<u32>>,
    tokens: &Option<Spanned<u64>>,
    path: &str,
) -> Result<LimitConfig, ConfigError> {
    let zero = |field: &str, span: std::ops::Range<usize>| ConfigError::Invalid {
        location: loaded.locate_span(span, &format!("{path}.{field}")),
        message: "must be greater than 0 (leave it out for no limit)".into(),
    };
    let requests_per_minute = match requests {
        Some(v) => Some(
            NonZeroU32::new(*v.get_ref()).ok_or_else(|| zero("requests_per_minute", v.span()))?,
        ),
        None => None,
    };
    let tokens_per_minute = match tokens {
        Some(v) => {
            Some(NonZeroU64::new(*v.get_ref()).ok_or_else(|| zero("tokens_per_minute", v.span()))?)
        }
        None => None,
    };
    Ok(LimitConfig {
        requests_per_minute,
        tokens_per_minute,
    })
}
