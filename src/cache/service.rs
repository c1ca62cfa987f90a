//! The cache as the request path sees it: lookups with freshness rules,
//! stores, totals and the scope of an entry. A lookup asks the store what
//! it knows first ([`CacheStore::presence`]): an absent key costs no I/O, a
//! small entry is read right here (microseconds from the page cache, less
//! than a hand-off to another thread), anything else on tokio's blocking
//! pool. Stores go to the writer thread ([`super::writer`]). What a store
//! does with an entry (eviction included) is the store's own policy.

use std::sync::Arc;

use axum::body::Bytes;

use super::entry::{CacheEntry, now_ms};
use super::key::CacheKey;
use super::store::{CacheStore, Presence};
use super::writer::CacheWriter;
use crate::caller::Caller;
use crate::config::{CacheConfig, CacheScope};

/// The response cache.
#[derive(Debug)]
pub struct Cache {
    pub settings: CacheConfig,
    pub store: Arc<dyn CacheStore>,
    writer: CacheWriter,
}

impl Cache {
    /// A cache over `store`, with its writer thread.
    pub fn new(settings: CacheConfig, store: Arc<dyn CacheStore>) -> Self {
        let writer = CacheWriter::start(Arc::clone(&store));
        Self {
            settings,
            store,
            writer,
        }
    }

    /// The stored entry for `key`, wherever it is.
    async fn find(&self, key: &CacheKey) -> Option<CacheEntry> {
        if let Some(entry) = self.writer.pending(key) {
            return Some(entry);
        }
        let found = match self.store.presence(key) {
            Presence::Absent => return None,
            Presence::Small => Ok(self.store.get(key)),
            Presence::Large | Presence::Unknown => {
                let store = Arc::clone(&self.store);
                let key = key.clone();
                tokio::task::spawn_blocking(move || store.get(&key)).await
            }
        };
        match found {
            Ok(Ok(entry)) => entry,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cache lookup failed; treating it as a miss");
                None
            }
            Err(_) => None,
        }
    }

    /// The entry for `key` if there is one fresh enough for the TTL and the
    /// request's `max-age`.
    pub async fn lookup(&self, key: &CacheKey, max_age: Option<u64>) -> Option<CacheEntry> {
        let entry = self.find(key).await?;
        let age = entry.meta.age_secs(now_ms());
        let ttl = self.settings.ttl.map(|t| t.as_secs());
        let fresh = ttl.is_none_or(|ttl| age < ttl) && max_age.is_none_or(|max| age <= max);
        fresh.then_some(entry)
    }

    /// Stores an entry (the store then keeps within its size cap): queued
    /// for the writer thread, found by lookups from now on.
    pub async fn save(&self, entry: CacheEntry, request: Bytes) {
        self.writer.save(entry, request).await;
    }

    /// Returns once every entry saved before the call is on disk (at
    /// shutdown, and for whoever reads the folder next).
    pub async fn flush(&self) {
        self.writer.flush().await;
    }

    /// `(entries, bytes)`, for metrics; `None` when the store cannot say.
    pub async fn totals(&self) -> Option<(u64, u64)> {
        // Entries answered but not yet on disk count too: write them first
        // (the writer is woken, so this takes one write's time).
        self.flush().await;
        let store = Arc::clone(&self.store);
        // On the blocking pool: the first call may read every entry's
        // metadata, and a store may be evicting meanwhile.
        let counted = tokio::task::spawn_blocking(move || store.totals()).await;
        match counted {
            Ok(Ok(totals)) => Some(totals),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cache could not be listed for its totals");
                None
            }
            Err(_) => None,
        }
    }

    /// The scope an entry belongs to (part of its key): shared when the
    /// gateway is open or the cache is declared shared; otherwise the caller's
    /// group or key id.
    pub fn scope(&self, caller: &Caller) -> String {
        match (&caller.key_id, caller.authenticated, self.settings.scope) {
            (Some(id), true, CacheScope::PerKey) => match self.settings.groups.get(id) {
                Some(group) => format!("group:{group}"),
                None => format!("key:{id}"),
            },
            _ => "shared".to_string(),
        }
    }
}
