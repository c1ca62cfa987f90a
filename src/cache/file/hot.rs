//! Small entries recently read, kept in memory so that an answer asked for
//! again and again is not read from its files each time. Each file is
//! stamped as it is read (`fstat` on the open file, the call `fs::read`
//! makes anyway), so a lookup that finds nothing kept costs no extra call.
//! Before a kept entry is served, its `.meta.json` and `.txt` are looked up
//! (`stat`, no open, no read) and must still be the very files it was read
//! from: same inode, size and modification time. An entry replaced (every write
//! renames new files into place), removed, quarantined or edited by hand is
//! therefore read from disk again, exactly as without this tier.
//!
//! Only entries the presence index calls small are kept, at most
//! [`HOT_BYTES`] of answers in all; past that the entry kept first goes
//! first. A miss never touches this tier.

use std::collections::{HashMap, VecDeque};
use std::fs::Metadata;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::cache::entry::CacheEntry;

/// Bytes of answers kept in memory at most.
pub const HOT_BYTES: usize = 8 * 1024 * 1024;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn from_metadata(found: &Metadata) -> Self {
        Self {
            len: found.len(),
            modified: found.modified().ok(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(found),
        }
    }

    fn of(path: &Path) -> Option<Self> {
        Some(Self::from_metadata(&std::fs::metadata(path).ok()?))
    }
}

/// The whole of the file at `path`, and the stamp of the very file read.
pub fn read_stamped(path: &Path) -> io::Result<(Vec<u8>, Stamp)> {
    let mut file = std::fs::File::open(path)?;
    let found = file.metadata()?;
    let mut bytes = Vec::with_capacity(usize::try_from(found.len()).unwrap_or(0));
    // Through `take`: `File::read_to_end` would `fstat` again for its size
    // hint, which the buffer above already has.
    (&mut file).take(u64::MAX).read_to_end(&mut bytes)?;
    Ok((bytes, Stamp::from_metadata(&found)))
}

/// The stamps of an entry's metadata and response files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps([Stamp; 2]);

impl Stamps {
    pub fn new(meta: Stamp, body: Stamp) -> Self {
        Self([meta, body])
    }

    /// Both files' stamps now; `None` when either is missing.
    pub fn of(meta: &Path, body: &Path) -> Option<Self> {
        Some(Self([Stamp::of(meta)?, Stamp::of(body)?]))
    }
}

struct Kept {
    stamps: Stamps,
    entry: CacheEntry,
}

#[derive(Default)]
struct Tier {
    entries: HashMap<String, Kept>,
    /// Keys in the order they were first kept, for eviction.
    order: VecDeque<String>,
    bytes: usize,
}

/// The tier: entries by key, with the stamps they were read under.
pub struct HotEntries {
    tier: Mutex<Tier>,
    max_bytes: usize,
}

impl std::fmt::Debug for HotEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tier = self.lock();
        f.debug_struct("HotEntries")
            .field("entries", &tier.entries.len())
            .field("bytes", &tier.bytes)
            .finish()
    }
}

impl Default for HotEntries {
    fn default() -> Self {
        Self::with_limit(HOT_BYTES)
    }
}

impl HotEntries {
    /// A tier keeping at most `max_bytes` of answers.
    pub fn with_limit(max_bytes: usize) -> Self {
        Self {
            tier: Mutex::new(Tier::default()),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tier> {
        self.tier.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry kept for `key`, if its files, stamped by `now` only when
    /// something is kept, are still the ones it was read from.
    pub fn get_unchanged(
        &self,
        key: &str,
        now: impl FnOnce() -> Option<Stamps>,
    ) -> Option<CacheEntry> {
        if !self.lock().entries.contains_key(key) {
            return None;
        }
        self.get(key, &now()?)
    }

    /// The entry kept for `key`, if its files are still the ones it was
    /// read from; a stale copy is dropped.
    pub fn get(&self, key: &str, now: &Stamps) -> Option<CacheEntry> {
        let mut tier = self.lock();
        let kept = tier.entries.get(key)?;
        if kept.stamps == *now {
            return Some(kept.entry.clone());
        }
        if let Some(stale) = tier.entries.remove(key) {
            tier.bytes -= stale.entry.body.len();
        }
        None
    }

    /// Keeps `entry`, read from files stamped `stamps`.
    pub fn keep(&self, key: &str, stamps: Stamps, entry: &CacheEntry) {
        let size = entry.body.len();
        if size > self.max_bytes {
            return;
        }
        let mut tier = self.lock();
        let kept = Kept {
            stamps,
            entry: entry.clone(),
        };
        match tier.entries.insert(key.to_string(), kept) {
            Some(replaced) => tier.bytes -= replaced.entry.body.len(),
            None => tier.order.push_back(key.to_string()),
        }
        tier.bytes += size;
        while tier.bytes > self.max_bytes {
            let Some(oldest) = tier.order.pop_front() else {
                break;
            };
            if let Some(gone) = tier.entries.remove(&oldest) {
                tier.bytes -= gone.entry.body.len();
            }
        }
        // Keys dropped as stale or forgotten leave their place in the
        // order behind; past twice the entries, it is rebuilt.
        if tier.order.len() > 2 * tier.entries.len() + 16 {
            let Tier { entries, order, .. } = &mut *tier;
            order.retain(|key| entries.contains_key(key));
        }
    }

    /// Drops what is kept for `key` (the entry was replaced or deleted).
    pub fn forget(&self, key: &str) {
        let mut tier = self.lock();
        if let Some(gone) = tier.entries.remove(key) {
            tier.bytes -= gone.entry.body.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::file::tests::{entry, key};

    fn entry_of(n: u8, body: &str) -> CacheEntry {
        entry(&key(n), body)
    }

    fn stamps_of(dir: &Path, name: &str, text: &str) -> Stamps {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Stamps::of(&path, &path).unwrap()
    }

    #[test]
    fn an_entry_is_served_only_while_its_files_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let hot = HotEntries::default();
        let read_under = stamps_of(dir.path(), "a", "one");
        hot.keep("k", read_under, &entry_of(1, "hello"));
        assert_eq!(hot.get("k", &read_under).unwrap().body, "hello");
        let rewritten = stamps_of(dir.path(), "a", "other");
        assert!(hot.get("k", &rewritten).is_none());
        // Dropped once seen stale.
        assert!(hot.get("k", &read_under).is_none());
        hot.keep("k", read_under, &entry_of(1, "hello"));
        hot.forget("k");
        assert!(hot.get("k", &read_under).is_none());
    }

    #[test]
    fn the_tier_keeps_at_most_its_limit_oldest_out_first() {
        let dir = tempfile::tempdir().unwrap();
        let stamps = stamps_of(dir.path(), "a", "x");
        let hot = HotEntries::with_limit(10);
        for (n, name) in [(1, "a"), (2, "b"), (3, "c")] {
            hot.keep(name, stamps, &entry_of(n, "1234"));
        }
        assert!(hot.get("a", &stamps).is_none());
        assert!(hot.get("b", &stamps).is_some() && hot.get("c", &stamps).is_some());
        hot.keep("big", stamps, &entry_of(4, "01234567890"));
        assert!(hot.get("big", &stamps).is_none());
        assert!(hot.lock().bytes <= 10);
    }
}
