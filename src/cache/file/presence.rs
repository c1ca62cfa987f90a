//! Which keys the folder holds, in memory, so a lookup for a key that is
//! not there answers "absent" without touching the disk, and a lookup for a
//! small entry knows it can be read where it is asked.
//!
//! Filled by the scan of the whole folder (the start-up scan runs behind the
//! listening server) and kept current by this process's stores and
//! deletions. Until a scan has finished every lookup goes to the disk, as
//! before. A key the index holds but the disk does not (an entry deleted by
//! hand) is an ordinary miss; the opposite, an entry copied into the folder
//! by hand or by another process while this one runs, is found after the
//! next start.
//!
//! Each key costs 8 bytes: the first 63 bits of its SHA-256 and a bit that
//! says whether the entry is small. Two keys sharing 63 bits only cost one
//! disk read that then misses.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::cache::key::CacheKey;
use crate::cache::store::{Presence, SMALL_ENTRY_BYTES};

/// The keys present.
#[derive(Debug, Default)]
pub struct PresenceIndex {
    keys: RwLock<HashSet<u64>>,
    complete: AtomicBool,
}

/// The index's word for `key`: 63 bits of it, the lowest bit cleared.
fn word(key: &CacheKey) -> u64 {
    let hex = key.as_str().get(..16).unwrap_or_default();
    u64::from_str_radix(hex, 16).unwrap_or_default() & !1
}

impl PresenceIndex {
    fn read(&self) -> RwLockReadGuard<'_, HashSet<u64>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashSet<u64>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// What is known of `key`.
    pub fn presence(&self, key: &CacheKey) -> Presence {
        let word = word(key);
        let keys = self.read();
        if keys.contains(&(word | 1)) {
            Presence::Small
        } else if keys.contains(&word) {
            Presence::Large
        } else if self.complete.load(Ordering::Acquire) {
            Presence::Absent
        } else {
            Presence::Unknown
        }
    }

    /// `key` is stored, with a response of `bytes`.
    pub fn insert(&self, key: &CacheKey, bytes: u64) {
        let word = word(key);
        let mut keys = self.write();
        keys.remove(&word);
        keys.remove(&(word | 1));
        keys.insert(word | u64::from(bytes <= SMALL_ENTRY_BYTES));
    }

    /// `key` is gone.
    pub fn remove(&self, key: &CacheKey) {
        let word = word(key);
        let mut keys = self.write();
        keys.remove(&word);
        keys.remove(&(word | 1));
    }

    /// A scan of the whole folder has inserted every key it found: from now
    /// on a key the index lacks is absent.
    pub fn mark_complete(&self) {
        self.complete.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex_digit: char) -> CacheKey {
        CacheKey::parse(&hex_digit.to_string().repeat(64)).expect("a 64-hex key")
    }

    #[test]
    fn unknown_until_a_scan_finished_then_absent() {
        let index = PresenceIndex::default();
        assert_eq!(index.presence(&key('a')), Presence::Unknown);
        index.insert(&key('b'), 10);
        assert_eq!(index.presence(&key('b')), Presence::Small);
        index.mark_complete();
        assert_eq!(index.presence(&key('a')), Presence::Absent);
    }

    #[test]
    fn size_class_follows_the_latest_store_and_removal_forgets() {
        let index = PresenceIndex::default();
        index.mark_complete();
        index.insert(&key('c'), SMALL_ENTRY_BYTES + 1);
        assert_eq!(index.presence(&key('c')), Presence::Large);
        index.insert(&key('c'), 5);
        assert_eq!(index.presence(&key('c')), Presence::Small);
        index.remove(&key('c'));
        assert_eq!(index.presence(&key('c')), Presence::Absent);
    }
}
