//! The flat-file store, in LLM_cache.py's layout: under the cache folder,
//! per entry,
//! - `<key>.request`: the client's request, pretty JSON (no headers, so no
//!   secrets),
//! - `<key>.txt`: the response exactly as the upstream sent it (SSE text or
//!   JSON),
//! - `<key>.meta.json`: status, content type, times, provider, model, usage,
//!   size and SHA-256 of the `.txt`.
//!
//! Each file is written to a temporary file in the same folder and renamed
//! into place, and `.meta.json` goes last: it is what makes an entry exist.
//! Replacing an entry removes its old `.meta.json` first.
//! A crash at any moment leaves no entry or a whole one (plus, at worst, a
//! `.tmp-*` file that is never read). On read the `.txt` must match the size
//! and SHA-256 recorded in `.meta.json`; anything damaged is moved to
//! `broken/` and treated as a miss. Deleting an entry by hand is
//! `rm llm_cache/<key>.*`.
//!
//! The store reads, lists and deletes only its own file names ([`names`]):
//! the folder may hold other files, and they are never touched. Checking
//! and purging live in [`check`]; the size cap (`[cache] max_total_bytes`,
//! the oldest entries evicted past it) in [`index`]; small entries read
//! recently, served from memory while their files are unchanged, in [`hot`].

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use super::entry::{CacheEntry, ENTRY_FORMAT, EntryMeta};
use super::key::CacheKey;
use super::store::{CacheStore, CheckReport, Listed, Presence, StoreError};
use hot::{HotEntries, Stamp, Stamps, read_stamped};
use index::SizeIndex;
use names::{BODY, FileName, META, REQUEST, SUFFIXES, TEMP_PREFIX};
use presence::PresenceIndex;

mod check;
mod hot;
mod index;
mod names;
mod presence;

/// Where damaged entries are moved, for a person to look at.
pub const BROKEN_DIR: &str = "broken";

/// Entries as files in one folder.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    temp_counter: AtomicU64,
    /// Past this total size the oldest entries are evicted.
    max_total_bytes: Option<u64>,
    /// Built on first need (eviction, totals).
    index: Mutex<Option<SizeIndex>>,
    /// The keys present, once a scan has listed the folder.
    presence: PresenceIndex,
    /// Small entries recently read, served while their files are unchanged.
    hot: HotEntries,
    /// This process's id, for temporary file names.
    pid: u32,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl FileStore {
    /// The store in `dir`, created if missing (for the server, whose first
    /// answer may be the first entry).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(Self::at(dir))
    }

    /// The store keeps at most `cap` bytes, evicting the oldest entries.
    pub fn with_size_cap(mut self, cap: Option<u64>) -> Self {
        self.max_total_bytes = cap;
        self
    }

    /// The store in `dir`, which must be an existing folder (for the `cache`
    /// commands: a mistyped folder must not look like an empty cache, nor be
    /// created).
    pub fn open_existing(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        let path = dir.display().to_string();
        match fs::metadata(&dir) {
            Ok(found) if found.is_dir() => Ok(Self::at(dir)),
            Ok(_) => Err(StoreError::NotAFolder { path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoFolder { path }),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn at(dir: PathBuf) -> Self {
        Self {
            dir,
            temp_counter: AtomicU64::new(0),
            max_total_bytes: None,
            index: Mutex::new(None),
            presence: PresenceIndex::default(),
            hot: HotEntries::default(),
            pid: std::process::id(),
        }
    }

    fn index(&self) -> MutexGuard<'_, Option<SizeIndex>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a newly stored entry, then evicts the oldest past the cap.
    /// Without a cap the index exists only once totals were asked for;
    /// from then on it is kept current.
    fn account_for(&self, entry: &CacheEntry, request_bytes: u64) -> Result<(), StoreError> {
        let mut guard = self.index();
        let Some(cap) = self.max_total_bytes else {
            if let Some(index) = guard.as_mut() {
                index.add_stored(entry, request_bytes);
            }
            return Ok(());
        };
        let index = SizeIndex::built(&mut guard, || self.list())?;
        index.add_stored(entry, request_bytes);
        while let Some(oldest) = index.oldest_over(cap) {
            index.remove(&oldest);
            self.delete(&oldest)?;
        }
        Ok(())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{key}{suffix}"))
    }

    /// Writes `bytes` to `target` through a temporary file and a rename.
    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{name}.{}-{n}", self.pid));
        let result = (|| {
            // No fsync: the rename is atomic against a crash or kill -9 of
            // this process, and after a power cut a file the kernel had not
            // written yet fails the size/SHA-256 check on read and is never
            // served. Syncing three files would add tens of milliseconds to
            // every miss for no gain in what clients can receive.
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            fs::rename(&temp, target)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(io_error(target))
    }

    /// Moves whatever files `key` has into `broken/`.
    fn quarantine(&self, key: &str, reason: &str) {
        tracing::warn!(
            key,
            reason,
            "cache entry is damaged; moved to {BROKEN_DIR}/ and treated as a miss"
        );
        if let Some(key) = CacheKey::parse(key) {
            self.presence.remove(&key);
        }
        self.hot.forget(key);
        let broken = self.dir.join(BROKEN_DIR);
        let _ = fs::create_dir_all(&broken);
        for suffix in SUFFIXES {
            let from = self.path(key, suffix);
            if from.exists() {
                let _ = fs::rename(&from, broken.join(format!("{key}{suffix}")));
            }
        }
    }

    /// The raw metadata of `key` and the stamp of its file; `None` when
    /// there is none.
    fn read_meta(&self, key: &str) -> io::Result<Option<(Vec<u8>, Stamp)>> {
        match read_stamped(&self.path(key, META)) {
            Ok(read) => Ok(Some(read)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads and verifies one entry; `Err(reason)` when it is damaged.
    fn read_entry(&self, key: &str) -> Result<Option<CacheEntry>, String> {
        match self.read_meta(key) {
            Ok(Some((meta_bytes, _))) => self.verify(key, &meta_bytes).map(|(e, _)| Some(e)),
            Ok(None) => Ok(None),
            Err(e) => Err(format!("metadata unreadable: {e}")),
        }
    }

    /// The entry described by `meta_bytes`, if its response matches them,
    /// and the stamp of the response file read.
    fn verify(&self, key: &str, meta_bytes: &[u8]) -> Result<(CacheEntry, Stamp), String> {
        let meta: EntryMeta = serde_json::from_slice(meta_bytes)
            .map_err(|e| format!("metadata is not valid: {e}"))?;
        if meta.format != ENTRY_FORMAT || meta.key != key {
            return Err("metadata belongs to another format or key".into());
        }
        let (body, stamp) =
            read_stamped(&self.path(key, BODY)).map_err(|e| format!("response unreadable: {e}"))?;
        if body.len() as u64 != meta.bytes || hex::encode(Sha256::digest(&body)) != meta.sha256 {
            return Err("response does not match its recorded size and SHA-256".into());
        }
        let entry = CacheEntry {
            meta,
            body: body.into(),
        };
        Ok((entry, stamp))
    }

    /// The keys of the entries whose key starts with `prefix` (lowercase
    /// hex), sorted. Judged from the file names alone: no entry is read.
    fn keys_by_prefix(&self, prefix: &str) -> Result<Vec<CacheKey>, StoreError> {
        let mut keys = Vec::new();
        for item in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let Ok(item) = item else { continue };
            let name = item.file_name().to_string_lossy().into_owned();
            if let FileName::Entry { key, suffix: META } = names::classify(&name)
                && key.as_str().starts_with(prefix)
            {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn disk_bytes(&self, key: &str) -> u64 {
        SUFFIXES
            .iter()
            .filter_map(|s| fs::metadata(self.path(key, s)).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl CacheStore for FileStore {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn presence(&self, key: &CacheKey) -> Presence {
        self.presence.presence(key)
    }

    fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, StoreError> {
        let small = self.presence.presence(key) == Presence::Small;
        let key = key.as_str();
        let now = || Stamps::of(&self.path(key, META), &self.path(key, BODY));
        if small && let Some(entry) = self.hot.get_unchanged(key, now) {
            return Ok(Some(entry));
        }
        let Some((meta_bytes, meta_stamp)) = self
            .read_meta(key)
            .map_err(io_error(&self.path(key, META)))?
        else {
            return Ok(None);
        };
        match self.verify(key, &meta_bytes) {
            Ok((entry, body_stamp)) => {
                if small {
                    self.hot
                        .keep(key, Stamps::new(meta_stamp, body_stamp), &entry);
                }
                Ok(Some(entry))
            }
            Err(reason) => {
                // A writer replacing this entry right now changes the
                // metadata too; only an entry that stays inconsistent is
                // damaged.
                let again = fs::read(self.path(key, META)).ok();
                if again.as_deref() == Some(meta_bytes.as_slice()) {
                    self.quarantine(key, &reason);
                }
                Ok(None)
            }
        }
    }

    fn put(&self, entry: &CacheEntry, request: &[u8]) -> Result<(), StoreError> {
        let key = entry.meta.key.as_str();
        self.hot.forget(key);
        let pretty = serde_json::from_slice::<serde_json::Value>(request)
            .and_then(|v| serde_json::to_vec_pretty(&v))
            .unwrap_or_else(|_| request.to_vec());
        let parsed = CacheKey::parse(key);
        // Replacing an entry: withdraw the old metadata first, so no reader
        // pairs it with the new response (it would see a miss meanwhile).
        // A key the index knows is absent has nothing to withdraw.
        let absent = parsed
            .as_ref()
            .is_some_and(|k| self.presence.presence(k) == Presence::Absent);
        if !absent {
            match fs::remove_file(self.path(key, META)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error(&self.path(key, META))(e));
                }
                _ => {}
            }
        }
        self.write_atomic(&self.path(key, REQUEST), &pretty)?;
        self.write_atomic(&self.path(key, BODY), &entry.body)?;
        let meta = serde_json::to_vec_pretty(&entry.meta)?;
        self.write_atomic(&self.path(key, META), &meta)?;
        if let Some(parsed) = &parsed {
            self.presence.insert(parsed, entry.meta.bytes);
        }
        self.account_for(entry, request.len() as u64)
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, StoreError> {
        self.presence.remove(key);
        self.hot.forget(key.as_str());
        let mut existed = false;
        // Metadata first: from then on the entry no longer exists.
        for suffix in SUFFIXES {
            let path = self.path(key.as_str(), suffix);
            match fs::remove_file(&path) {
                Ok(()) => existed |= suffix == META,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        Ok(existed)
    }

    fn list(&self) -> Result<Vec<Listed>, StoreError> {
        let mut listed = Vec::new();
        for item in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let Ok(item) = item else { continue };
            let name = item.file_name().to_string_lossy().into_owned();
            let FileName::Entry { key, suffix: META } = names::classify(&name) else {
                continue;
            };
            // Metadata naming another key (a copied file) is not an intact
            // entry; trusting it would let `clear` delete that other entry.
            let Some(meta) = fs::read(item.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<EntryMeta>(&b).ok())
                .filter(|meta| meta.key == key.as_str())
            else {
                continue;
            };
            listed.push(Listed {
                disk_bytes: self.disk_bytes(key.as_str()),
                meta,
            });
        }
        Ok(listed)
    }

    fn request_text(&self, key: &CacheKey) -> Result<Option<String>, StoreError> {
        let path = self.path(key.as_str(), REQUEST);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    fn keys_starting_with(&self, prefix: &str) -> Result<Vec<CacheKey>, StoreError> {
        self.keys_by_prefix(prefix)
    }

    fn totals(&self) -> Result<(u64, u64), StoreError> {
        let mut guard = self.index();
        SizeIndex::built(&mut guard, || self.list()).map(|index| index.totals())
    }

    fn check(&self, deep: bool) -> Result<CheckReport, StoreError> {
        self.scan(deep)
    }

    fn purge(&self, report: &CheckReport) -> Result<u64, StoreError> {
        self.remove_reported(report)
    }
}

#[cfg(test)]
pub(crate) mod tests;
