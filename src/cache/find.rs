//! Naming entries as people type them: a whole key, or a unique prefix of
//! at least [`MIN_PREFIX`] hex digits, and a model as any of the names an
//! entry answers to. Shared by the `cache` commands and the dashboard.

use super::entry::EntryMeta;
use super::{CacheKey, CacheStore};

/// Fewest hex digits a key prefix may have: with 8, a prefix picks one
/// entry among tens of thousands with little chance of a clash (git's short
/// hashes start at 7).
pub const MIN_PREFIX: usize = 8;

/// Why a typed key names no single entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// Not hex, too long or too short.
    #[error("{0}")]
    NotAKey(String),
    /// The start of several entries' keys.
    #[error("{0}")]
    Ambiguous(String),
    /// The store could not be read.
    #[error("{0}")]
    Store(String),
}

/// A key or key prefix as typed, in lowercase.
pub fn parse_prefix(text: &str) -> Result<String, FindError> {
    let prefix = text.trim().to_ascii_lowercase();
    if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FindError::NotAKey(format!(
            "`{}` is not a cache key (64 hex digits, from x-cache-key) nor the start of one",
            text.chars().take(80).collect::<String>()
        )));
    }
    if prefix.len() < MIN_PREFIX {
        return Err(FindError::NotAKey(format!(
            "`{text}` is too short: give at least {MIN_PREFIX} hex digits of the key"
        )));
    }
    Ok(prefix)
}

/// The key `text` names: a whole key as it is (without looking at the
/// folder), a prefix when exactly one entry's key starts with it (`None`
/// when none does). Several matches are an error.
pub fn find(store: &dyn CacheStore, text: &str) -> Result<(String, Option<CacheKey>), FindError> {
    let prefix = parse_prefix(text)?;
    if let Some(key) = CacheKey::parse(&prefix) {
        return Ok((prefix, Some(key)));
    }
    let mut keys = store
        .keys_starting_with(&prefix)
        .map_err(|e| FindError::Store(e.to_string()))?;
    match keys.len() {
        0 | 1 => Ok((prefix, keys.pop())),
        n => Err(FindError::Ambiguous(format!(
            "`{prefix}` is the start of {n} entries' keys: give more digits"
        ))),
    }
}

/// Whether `wanted` names the entry's model: as the client wrote it, as
/// the provider knows it, or routed as `provider/upstream_model` (the form
/// `llm-bridge stats --by model` shows).
pub fn names_model(meta: &EntryMeta, wanted: &str) -> bool {
    meta.model == wanted
        || meta.upstream_model == wanted
        || wanted.split_once('/').is_some_and(|(provider, model)| {
            provider == meta.provider && model == meta.upstream_model
        })
}
