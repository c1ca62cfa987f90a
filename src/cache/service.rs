//! The cache as the request path sees it: lookups with freshness rules,
//! stores with the size cap, the scope of an entry, and the running flights.
//! Store calls run on tokio's blocking pool, never on the async workers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use super::entry::{CacheEntry, now_ms};
use super::key::CacheKey;
use super::store::{CacheStore, StoreError};
use crate::auth::Caller;
use crate::config::{CacheConfig, CacheScope};
use crate::flight::Flights;

/// Entries by age and size, to evict the oldest past `max_total_bytes`.
/// Built from the store on first need, then kept up to date by this process.
#[derive(Debug, Default)]
struct SizeIndex {
    by_age: BTreeSet<(u64, CacheKey)>,
    sizes: HashMap<CacheKey, (u64, u64)>,
    total: u64,
}

impl SizeIndex {
    fn add(&mut self, key: CacheKey, created_ms: u64, bytes: u64) {
        self.remove(&key);
        self.by_age.insert((created_ms, key.clone()));
        self.sizes.insert(key, (created_ms, bytes));
        self.total += bytes;
    }

    /// Adds a newly stored entry. Close enough to its disk size: body,
    /// request and ~1 KiB of metadata.
    fn add_stored(&mut self, entry: &CacheEntry, request_bytes: u64) {
        if let Some(key) = CacheKey::parse(&entry.meta.key) {
            let bytes = entry.meta.bytes + request_bytes + 1024;
            self.add(key, entry.meta.created_ms, bytes);
        }
    }

    /// The index, listed from the store on first need.
    fn built<'a>(
        slot: &'a mut Option<SizeIndex>,
        store: &dyn CacheStore,
    ) -> Result<&'a mut SizeIndex, StoreError> {
        if slot.is_none() {
            let mut built = SizeIndex::default();
            for listed in store.list()? {
                if let Some(key) = CacheKey::parse(&listed.meta.key) {
                    built.add(key, listed.meta.created_ms, listed.disk_bytes);
                }
            }
            *slot = Some(built);
        }
        Ok(slot.get_or_insert_default())
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some((created, bytes)) = self.sizes.remove(key) {
            self.by_age.remove(&(created, key.clone()));
            self.total = self.total.saturating_sub(bytes);
        }
    }
}

/// The response cache.
#[derive(Debug)]
pub struct Cache {
    pub settings: CacheConfig,
    pub store: Arc<dyn CacheStore>,
    pub flights: Flights,
    index: Arc<Mutex<Option<SizeIndex>>>,
}

impl Cache {
    /// A cache over `store`.
    pub fn new(settings: CacheConfig, store: Arc<dyn CacheStore>) -> Self {
        Self {
            settings,
            store,
            flights: Flights::default(),
            index: Arc::default(),
        }
    }

    /// The entry for `key` if there is one fresh enough for the TTL and the
    /// request's `max-age`.
    pub async fn lookup(&self, key: &CacheKey, max_age: Option<u64>) -> Option<CacheEntry> {
        let store = Arc::clone(&self.store);
        let lookup_key = key.clone();
        let found = tokio::task::spawn_blocking(move || store.get(&lookup_key)).await;
        let entry = match found {
            Ok(Ok(entry)) => entry?,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cache lookup failed; treating it as a miss");
                return None;
            }
            Err(_) => return None,
        };
        let age = entry.meta.age_secs(now_ms());
        let ttl = self.settings.ttl.map(|t| t.as_secs());
        let fresh = ttl.is_none_or(|ttl| age < ttl) && max_age.is_none_or(|max| age <= max);
        fresh.then_some(entry)
    }

    /// Stores an entry, then evicts the oldest entries past the size cap.
    pub async fn save(&self, entry: CacheEntry, request: Bytes) {
        let store = Arc::clone(&self.store);
        let index = Arc::clone(&self.index);
        let cap = self.settings.max_total_bytes;
        let saved = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            store.put(&entry, &request)?;
            match cap {
                Some(cap) => evict(store.as_ref(), &index, &entry, request.len() as u64, cap)?,
                // Without a cap the index exists only once `totals` asked
                // for it; from then on it is kept current.
                None => {
                    let mut guard = index.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(index) = guard.as_mut() {
                        index.add_stored(&entry, request.len() as u64);
                    }
                }
            }
            Ok(())
        })
        .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cache entry not stored"),
            Err(error) => tracing::warn!(%error, "cache store task failed"),
        }
    }

    /// `(entries, bytes on disk)`, for metrics. The first call lists the
    /// store; after that the size index answers, kept current by this
    /// process's stores and evictions (so entries another process removes,
    /// such as `llm-bridge cache clear`, count until a restart). `None` when
    /// the store cannot be listed.
    pub async fn totals(&self) -> Option<(u64, u64)> {
        let store = Arc::clone(&self.store);
        let index = Arc::clone(&self.index);
        // On the blocking pool: the first call reads every entry's metadata,
        // and a save may hold the lock while it evicts.
        let counted = tokio::task::spawn_blocking(move || {
            let mut guard = index.lock().unwrap_or_else(|p| p.into_inner());
            SizeIndex::built(&mut guard, store.as_ref())
                .map(|index| (index.sizes.len() as u64, index.total))
        })
        .await;
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

/// Deletes the oldest entries until the total is under `cap`. Only entries
/// the store listed or this process stored are candidates, so other files in
/// the cache folder never count towards the cap nor get deleted.
fn evict(
    store: &dyn CacheStore,
    index: &Mutex<Option<SizeIndex>>,
    added: &CacheEntry,
    request_bytes: u64,
    cap: u64,
) -> Result<(), StoreError> {
    let mut guard = index.lock().unwrap_or_else(|p| p.into_inner());
    let index = SizeIndex::built(&mut guard, store)?;
    index.add_stored(added, request_bytes);
    while index.total > cap {
        let Some((_, oldest)) = index.by_age.first().cloned() else {
            break;
        };
        index.remove(&oldest);
        store.delete(&oldest)?;
    }
    Ok(())
}
