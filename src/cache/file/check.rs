//! Scanning the cache folder for entries that could never be served and
//! leftovers of interrupted writes, and deleting them. Only the store's own
//! file names (see [`super::names`]) are ever judged or deleted; other files
//! are reported as not ours, and subfolders (`broken/`) are skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use super::names::{self, FileName, META, SUFFIXES};
use super::{FileStore, io_error};
use crate::cache::entry::EntryMeta;
use crate::cache::key::CacheKey;
use crate::cache::store::{CheckReport, StoreError};

impl FileStore {
    /// Scans the folder. `deep` also re-reads every response and checks it
    /// is a complete answer (slow on a big cache; the start-up scan is not
    /// deep).
    pub(super) fn scan(&self, deep: bool) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        let mut files: BTreeMap<CacheKey, Vec<&'static str>> = BTreeMap::new();
        for item in fs::read_dir(self.dir()).map_err(io_error(self.dir()))? {
            let Ok(item) = item else { continue };
            // Subfolders are `broken/` or a person's own: never judged.
            if item.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = item.file_name().to_string_lossy().into_owned();
            match names::classify(&name) {
                FileName::Entry { key, suffix } => files.entry(key).or_default().push(suffix),
                FileName::Temp => report.leftovers.push(name),
                FileName::Foreign => report.foreign.push(name),
            }
        }
        report.leftovers.sort();
        report.foreign.sort();
        for (key, suffixes) in files {
            let key = key.to_string();
            let verdict = if !suffixes.contains(&META) {
                Err("no metadata, so it is never served".to_string())
            } else if deep {
                self.deep_check(&key)
            } else {
                self.shallow_check(&key)
            };
            match verdict {
                Ok(bytes) => {
                    report.ok += 1;
                    if let Some(key) = CacheKey::parse(&key) {
                        self.presence.insert(&key, bytes);
                    }
                }
                Err(reason) => report.broken.push((key, reason)),
            }
        }
        // Every file of the folder was listed: a key not seen is absent.
        self.presence.mark_complete();
        Ok(report)
    }

    /// The response's size, if the entry is whole and a complete answer.
    fn deep_check(&self, key: &str) -> Result<u64, String> {
        match self.read_entry(key)? {
            Some(e) => e
                .meta
                .wire
                .check(e.meta.kind, &e.body)
                .map(|_| e.body.len() as u64)
                .map_err(|why| format!("not a complete answer: {why}")),
            None => Err("vanished during the check".into()),
        }
    }

    /// The response's size, if it matches the metadata.
    fn shallow_check(&self, key: &str) -> Result<u64, String> {
        let meta: EntryMeta = fs::read(self.path(key, META))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("metadata is not valid")?;
        let size = fs::metadata(self.path(key, names::BODY))
            .map(|m| m.len())
            .map_err(|_| "response file missing")?;
        if size != meta.bytes {
            return Err("response size differs from its metadata".into());
        }
        Ok(size)
    }

    /// Deletes what `scan` reported as broken or left over (never the
    /// files that are not ours); how many files went.
    pub(super) fn remove_reported(&self, report: &CheckReport) -> Result<u64, StoreError> {
        let mut removed = 0;
        for (key, _) in &report.broken {
            for suffix in SUFFIXES {
                let path = self.path(key, suffix);
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path)(e)),
                }
            }
        }
        for name in &report.leftovers {
            let path = self.dir().join(name);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                // The write it belonged to finished or gave up meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        Ok(removed)
    }
}
