//! `[cache]` settings.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::file::LoadedFile;

/// Largest answer stored by default. Chat answers are kilobytes; 16 MiB
/// leaves room for long, multi-choice or logprob-heavy ones.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// What the cache does for every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// Serve hits, store misses.
    #[default]
    ReadWrite,
    /// Serve hits, never store.
    ReadOnly,
    /// Serve hits; a miss is an error and no provider is ever called.
    Offline,
    /// Never serve hits, store every answer (refresh everything).
    WriteOnly,
    /// No cache at all.
    Off,
}

impl CacheMode {
    /// Whether entries are looked up.
    pub fn reads(self) -> bool {
        matches!(self, Self::ReadWrite | Self::ReadOnly | Self::Offline)
    }

    /// Whether answers are stored.
    pub fn writes(self) -> bool {
        matches!(self, Self::ReadWrite | Self::WriteOnly)
    }

    /// The name used in flags and the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadWrite => "read-write",
            Self::ReadOnly => "read-only",
            Self::Offline => "offline",
            Self::WriteOnly => "write-only",
            Self::Off => "off",
        }
    }
}

/// Who shares entries when access keys are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheScope {
    /// Each access key has its own entries (groups excepted).
    #[default]
    PerKey,
    /// Every key shares every entry.
    Shared,
}

/// `[cache]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    pub mode: Option<CacheMode>,
    pub ignore_fields: Option<Vec<String>>,
    pub max_entry_bytes: Option<Spanned<u64>>,
    pub max_total_bytes: Option<Spanned<u64>>,
    pub ttl_secs: Option<Spanned<u64>>,
    pub scope: Option<CacheScope>,
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    pub complete_on_disconnect: Option<bool>,
}

/// Validated cache settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub mode: CacheMode,
    /// Body fields left out of the key.
    pub ignore_fields: Vec<String>,
    pub max_entry_bytes: u64,
    /// Oldest entries are evicted past this total.
    pub max_total_bytes: Option<u64>,
    /// Entries older than this are misses.
    pub ttl: Option<Duration>,
    pub scope: CacheScope,
    /// Key id (name or fingerprint) → group sharing entries.
    pub groups: BTreeMap<String, String>,
    /// Keep reading (and store) an answer whose client went away.
    pub complete_on_disconnect: bool,
}

/// Builds the settings; `mode` from the flag or environment wins over the
/// file.
pub fn resolve(
    mode: Option<CacheMode>,
    file: Option<&LoadedFile>,
) -> Result<CacheConfig, ConfigError> {
    let empty = CacheSection::default();
    let raw = file.map_or(&empty, |f| &f.config.cache);
    let positive = |value, field| super::positive(value, field, file);
    let mut groups = BTreeMap::new();
    for (group, members) in &raw.groups {
        for member in members {
            groups.insert(member.clone(), group.clone());
        }
    }
    Ok(CacheConfig {
        mode: mode.or(raw.mode).unwrap_or_default(),
        ignore_fields: raw
            .ignore_fields
            .clone()
            .unwrap_or_else(|| vec!["user".into(), "metadata".into()]),
        max_entry_bytes: positive(&raw.max_entry_bytes, "cache.max_entry_bytes")?
            .unwrap_or(DEFAULT_MAX_ENTRY_BYTES),
        max_total_bytes: positive(&raw.max_total_bytes, "cache.max_total_bytes")?,
        ttl: positive(&raw.ttl_secs, "cache.ttl_secs")?.map(Duration::from_secs),
        scope: raw.scope.unwrap_or_default(),
        groups,
        complete_on_disconnect: raw.complete_on_disconnect.unwrap_or(true),
    })
}
