//! The storage interface the request path and the CLI use, so a backend
//! shared by several instances can replace the flat files without touching
//! either.
//!
//! Methods block (file or network I/O); async callers run them on tokio's
//! blocking pool.

use super::entry::{CacheEntry, EntryMeta};
use super::key::CacheKey;

/// Storage failures. A missing or unreadable entry is not an error (it is a
/// miss); these are failures to reach or change the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cache I/O failed on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cache folder {path} does not exist")]
    NoFolder { path: String },
    #[error("{path} is not a folder, so it cannot be the cache folder")]
    NotAFolder { path: String },
    #[error("cache metadata could not be written: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Totals over all entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub entries: u64,
    /// Bytes on disk (all three files of every entry).
    pub bytes: u64,
    pub oldest_ms: Option<u64>,
    pub newest_ms: Option<u64>,
}

/// One stored entry as listed: its metadata and total size on disk.
#[derive(Debug, Clone)]
pub struct Listed {
    pub meta: EntryMeta,
    pub disk_bytes: u64,
}

/// A cache backend.
pub trait CacheStore: Send + Sync + std::fmt::Debug {
    /// The entry, if there is a whole, intact one. A damaged entry is moved
    /// aside and reported as absent.
    fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, StoreError>;

    /// Stores an entry atomically: readers see all of it or none of it.
    /// `request` is the client's request, stored for people to read.
    fn put(&self, entry: &CacheEntry, request: &[u8]) -> Result<(), StoreError>;

    /// Removes an entry; whether there was one.
    fn delete(&self, key: &CacheKey) -> Result<bool, StoreError>;

    /// Every intact entry's metadata (order unspecified).
    fn list(&self) -> Result<Vec<Listed>, StoreError>;

    /// Totals.
    fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut stats = StoreStats::default();
        for listed in self.list()? {
            stats.entries += 1;
            stats.bytes += listed.disk_bytes;
            let created = listed.meta.created_ms;
            stats.oldest_ms = Some(stats.oldest_ms.map_or(created, |o| o.min(created)));
            stats.newest_ms = Some(stats.newest_ms.map_or(created, |n| n.max(created)));
        }
        Ok(stats)
    }
}
