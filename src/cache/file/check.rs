//! Scanning the cache folder for entries that could never be served and
//! leftovers of interrupted writes, and deleting them. Only the store's own
//! file names (see [`super::names`]) are ever judged or deleted; other files
//! are reported as not ours, and subfolders (`broken/`) are skipped.

use std::fs;
use std::io;

use super::names::{self, FileName, META, SUFFIXES};
use super::{FileStore, io_error};
use crate::cache::entry::EntryMeta;
use crate::cache::key::CacheKey;
use crate::cache::store::{CheckReport, StoreError};

impl FileStore {
    /// Scans the folder, one file name at a time (memory stays flat with a
    /// million entries): an entry is judged at its metadata file, and a
    /// response or request file counts as broken only when its entry has
    /// no metadata. `deep` also re-reads every response and checks it is a
    /// complete answer (slow on a big cache; the start-up scan is not
    /// deep).
    pub(super) fn scan(&self, deep: bool) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        for item in fs::read_dir(self.dir()).map_err(io_error(self.dir()))? {
            let Ok(item) = item else { continue };
            // Subfolders are `broken/` or a person's own: never judged.
            if item.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = item.file_name().to_string_lossy().into_owned();
            match names::classify(&name) {
                FileName::Entry { key, suffix } => self.judge(&mut report, &key, suffix, deep),
                FileName::Temp => report.leftovers.push(name),
                FileName::Foreign => report.foreign.push(name),
            }
        }
        report.broken.sort();
        report.leftovers.sort();
        report.foreign.sort();
        // Every file of the folder was listed: a key not seen is absent.
        self.presence.mark_complete();
        Ok(report)
    }

    /// Judges one of `key`'s files: the entry itself at its metadata; the
    /// others only for an entry without metadata, reported once (at its
    /// response, or at its request when it has no response either).
    fn judge(&self, report: &mut CheckReport, key: &CacheKey, suffix: &str, deep: bool) {
        let hex = key.as_str();
        if suffix != META {
            let orphan = !self.path(hex, META).exists()
                && (suffix == names::BODY || !self.path(hex, names::BODY).exists());
            if orphan {
                let reason = "no metadata, so it is never served".to_string();
                report.broken.push((hex.to_string(), reason));
            }
            return;
        }
        let verdict = match deep {
            true => self.deep_check(hex),
            false => self.shallow_check(hex),
        };
        match verdict {
            Ok(bytes) => {
                report.ok += 1;
                self.presence.insert(key, bytes);
            }
            Err(reason) => report.broken.push((hex.to_string(), reason)),
        }
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
