//! The file store's size index: its entries by age and size, to evict the
//! oldest past `[cache] max_total_bytes` and to answer totals without
//! listing the folder each time. Built from the folder on first need, then
//! kept up to date by this process's stores and evictions (so entries
//! another process removes, such as `llm-bridge cache clear`, count until a
//! restart).

use std::collections::{BTreeSet, HashMap};

use crate::cache::entry::CacheEntry;
use crate::cache::key::CacheKey;
use crate::cache::store::{Listed, StoreError};

/// Entries by age and size, to evict the oldest past `max_total_bytes`.
/// Built from the store on first need, then kept up to date by this process.
#[derive(Debug, Default)]
pub(super) struct SizeIndex {
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
    pub(super) fn add_stored(&mut self, entry: &CacheEntry, request_bytes: u64) {
        if let Some(key) = CacheKey::parse(&entry.meta.key) {
            let bytes = entry.meta.bytes + request_bytes + 1024;
            self.add(key, entry.meta.created_ms, bytes);
        }
    }

    /// The index, listed with `list` on first need.
    pub(super) fn built(
        slot: &mut Option<SizeIndex>,
        list: impl FnOnce() -> Result<Vec<Listed>, StoreError>,
    ) -> Result<&mut SizeIndex, StoreError> {
        if slot.is_none() {
            let mut built = SizeIndex::default();
            for listed in list()? {
                if let Some(key) = CacheKey::parse(&listed.meta.key) {
                    built.add(key, listed.meta.created_ms, listed.disk_bytes);
                }
            }
            *slot = Some(built);
        }
        Ok(slot.get_or_insert_default())
    }

    pub(super) fn remove(&mut self, key: &CacheKey) {
        if let Some((created, bytes)) = self.sizes.remove(key) {
            self.by_age.remove(&(created, key.clone()));
            self.total = self.total.saturating_sub(bytes);
        }
    }
}

impl SizeIndex {
    /// `(entries, bytes)`.
    pub(super) fn totals(&self) -> (u64, u64) {
        (self.sizes.len() as u64, self.total)
    }

    /// The oldest entry, while the total is over `cap`.
    pub(super) fn oldest_over(&self, cap: u64) -> Option<CacheKey> {
        (self.total > cap)
            .then(|| self.by_age.first().map(|(_, key)| key.clone()))
            .flatten()
    }
}
