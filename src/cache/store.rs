//! The storage interface the request path and the CLI use, so a backend
//! shared by several instances can replace the flat files without touching
//! either. A store owns its storage policy: what it keeps (eviction past a
//! size cap), how it scans itself for damage, and how it lists.
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
    /// A shared store (Redis) could not be reached or refused a command.
    #[error("the shared cache at {location} failed: {message}")]
    Remote { location: String, message: String },
}

/// Responses up to this size are read where the lookup is made (a few
/// microseconds from the page cache); larger ones on the blocking pool.
pub const SMALL_ENTRY_BYTES: u64 = 64 * 1024;

/// What a store knows of a key without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Not stored.
    Absent,
    /// Stored, with a response of at most [`SMALL_ENTRY_BYTES`].
    Small,
    /// Stored, larger.
    Large,
    /// Not known: ask [`CacheStore::get`].
    Unknown,
}

/// Totals over all entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub entries: u64,
    /// Bytes stored (every file of every entry).
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

/// What a scan of the store found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Intact entries.
    pub ok: u64,
    /// Keys of entries that would never be served, and why.
    pub broken: Vec<(String, String)>,
    /// Leftovers of interrupted writes (never read).
    pub leftovers: Vec<String>,
    /// What is in the store's place but not the store's own (sorted);
    /// never deleted.
    pub foreign: Vec<String>,
}

/// A cache backend.
pub trait CacheStore: Send + Sync + std::fmt::Debug {
    /// Where the store is, for messages (a folder, a server).
    fn location(&self) -> String;

    /// The entry, if there is a whole, intact one. A damaged entry is moved
    /// aside and reported as absent.
    fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, StoreError>;

    /// What the store knows of `key` without blocking: a lookup for an
    /// absent key needs no [`CacheStore::get`], and a small entry can be
    /// read where it is asked for.
    fn presence(&self, _key: &CacheKey) -> Presence {
        Presence::Unknown
    }

    /// Stores an entry atomically: readers see all of it or none of it.
    /// `request` is the client's request, stored for people to read. The
    /// store then keeps within its size cap, by its own rule.
    fn put(&self, entry: &CacheEntry, request: &[u8]) -> Result<(), StoreError>;

    /// Removes an entry; whether there was one.
    fn delete(&self, key: &CacheKey) -> Result<bool, StoreError>;

    /// Every intact entry's metadata (order unspecified).
    fn list(&self) -> Result<Vec<Listed>, StoreError>;

    /// The request stored with an entry, as text.
    fn request_text(&self, key: &CacheKey) -> Result<Option<String>, StoreError>;

    /// The keys that start with `prefix` (lowercase hex), sorted, found
    /// without reading every entry.
    fn keys_starting_with(&self, prefix: &str) -> Result<Vec<CacheKey>, StoreError>;

    /// `(entries, bytes)` now, cheaply after the first call.
    fn totals(&self) -> Result<(u64, u64), StoreError>;

    /// Scans for entries that could never be served, leftovers of
    /// interrupted writes and things that are not the store's own. `deep`
    /// re-reads and checks every answer (slow on a big cache).
    fn check(&self, deep: bool) -> Result<CheckReport, StoreError>;

    /// Deletes what [`CacheStore::check`] reported as broken or left over
    /// (never what is not the store's own); how many items went.
    fn purge(&self, report: &CheckReport) -> Result<u64, StoreError>;

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

    /// The start-up scan: counts entries and logs how many look broken.
    /// Run off the request path; a huge store must never delay start-up.
    fn report_at_startup(&self) {
        let report = match self.check(false) {
            Ok(report) => report,
            Err(error) => return tracing::warn!(%error, "cache: start-up scan failed"),
        };
        let location = self.location();
        if report.broken.is_empty() && report.leftovers.is_empty() {
            return tracing::info!("cache: {} in {location}", entries(report.ok));
        }
        let broken = match report.broken.len() {
            1 => "1 looks broken".to_string(),
            n => format!("{n} look broken"),
        };
        let leftovers = match report.leftovers.len() {
            1 => "1 temporary file was".to_string(),
            n => format!("{n} temporary files were"),
        };
        tracing::warn!(
            "cache: {} in {location}; {broken} and {leftovers} left by interrupted writes \
             (none of them is ever served). `llm-bridge cache check` lists them, \
             `llm-bridge cache check --purge` deletes them",
            entries(report.ok),
        );
    }
}

/// `1 entry`, `2 entries`.
fn entries(n: u64) -> String {
    match n {
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    }
}
