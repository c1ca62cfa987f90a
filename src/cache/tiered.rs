//! The server's store with Redis configured: the local flat files in
//! front (unless `[redis] local_tier = false`), Redis behind.
//!
//! A lookup tries the local files first (a hit there costs no network),
//! then Redis; an entry found in Redis is copied to the local tier. An
//! entry is written to both, deleted from both. Listing, search and checks
//! are Redis's (it holds every instance's entries).
//!
//! Redis failing never fails a request: a lookup it cannot answer is a
//! miss, a write it refuses is kept locally, and after a failure Redis is
//! left alone for `[redis] retry_after_ms` (a second by default, so a dead
//! Redis costs one timeout per second, not one per request), then tried
//! again; the first success
//! marks it up again. [`SharedHealth`] says which, for `/health` and
//! `/metrics`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

use super::entry::CacheEntry;
use super::file::FileStore;
use super::key::CacheKey;
use super::redis::RedisStore;
use super::store::{CacheStore, CheckReport, Listed, Presence, StoreError};

/// Whether the shared store answers, and how often it did not.
#[derive(Debug)]
pub struct SharedHealth {
    location: String,
    up: AtomicBool,
    errors: AtomicU64,
    /// Unix ms before which Redis is not tried again.
    retry_at_ms: AtomicI64,
    retry_after: Duration,
    last_error: Mutex<Option<String>>,
}

/// What `/health` shows of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedView {
    pub location: String,
    pub up: bool,
    /// Commands that failed (or were skipped while it was down) since start.
    pub errors: u64,
    pub last_error: Option<String>,
}

impl SharedHealth {
    pub(crate) fn new(location: String, retry_after: Duration) -> Self {
        Self {
            location,
            retry_after,
            up: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            retry_at_ms: AtomicI64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub fn view(&self) -> SharedView {
        SharedView {
            location: self.location.clone(),
            up: self.up.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// A command failed: Redis is down until `retry_after` has passed.
    pub(crate) fn failed(&self, error: &StoreError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let retry = now_ms() + i64::try_from(self.retry_after.as_millis()).unwrap_or(i64::MAX);
        self.retry_at_ms.store(retry, Ordering::Relaxed);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(%error, "the shared cache is down; going on with the local one");
        }
    }

    /// A command answered: Redis is up.
    pub(crate) fn answered(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("the shared cache is back");
        }
    }

    /// `op` unless Redis is down and not due for a retry (then `None`,
    /// counted); a failure is counted and marks it down.
    pub(crate) fn attempt<T>(&self, op: impl FnOnce() -> Result<T, StoreError>) -> Option<T> {
        if !self.due() {
            self.errors.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match op() {
            Ok(value) => {
                self.answered();
                Some(value)
            }
            Err(error) => {
                self.failed(&error);
                None
            }
        }
    }

    /// Whether Redis is worth asking now.
    pub(crate) fn due(&self) -> bool {
        self.up.load(Ordering::Relaxed) || now_ms() >= self.retry_at_ms.load(Ordering::Relaxed)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The local tier (if any) in front of Redis.
#[derive(Debug)]
pub struct TieredStore {
    local: Option<FileStore>,
    shared: RedisStore,
    health: Arc<SharedHealth>,
}

impl TieredStore {
    /// After a failure Redis is not asked for `retry_after`.
    pub fn new(local: Option<FileStore>, shared: RedisStore, retry_after: Duration) -> Self {
        let health = Arc::new(SharedHealth::new(shared.location(), retry_after));
        Self {
            local,
            shared,
            health,
        }
    }

    /// Whether Redis answers, for `/health` and `/metrics`.
    pub fn health(&self) -> Arc<SharedHealth> {
        Arc::clone(&self.health)
    }

    /// `op` on Redis, unless it is down and not due for a retry; a failure
    /// is counted and marks it down.
    fn shared<T>(&self, op: impl FnOnce(&RedisStore) -> Result<T, StoreError>) -> Option<T> {
        self.health.attempt(|| op(&self.shared))
    }

    /// Redis's answer, else the local tier's (else Redis's error).
    fn either<T>(
        &self,
        shared: impl FnOnce(&RedisStore) -> Result<T, StoreError>,
        local: impl FnOnce(&FileStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(answer) = self.shared(shared) {
            return Ok(answer);
        }
        match &self.local {
            Some(store) => local(store),
            None => Err(StoreError::Remote {
                location: self.health.location.clone(),
                message: "not reachable now".into(),
            }),
        }
    }
}

impl CacheStore for TieredStore {
    fn location(&self) -> String {
        match &self.local {
            Some(local) => format!(
                "{} in front of {}",
                local.location(),
                self.shared.location()
            ),
            None => self.shared.location(),
        }
    }

    fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, StoreError> {
        if let Some(local) = &self.local
            && let Some(entry) = local.get(key)?
        {
            return Ok(Some(entry));
        }
        let Some(Some((entry, request))) = self.shared(|redis| redis.get_with_request(key)) else {
            return Ok(None);
        };
        if let Some(local) = &self.local
            && let Err(error) = local.put(&entry, &request)
        {
            tracing::warn!(%error, "an entry from the shared cache could not be kept locally");
        }
        Ok(Some(entry))
    }

    fn presence(&self, key: &CacheKey) -> Presence {
        // Absent locally may still be in Redis: only a local entry is known.
        match self.local.as_ref().map(|local| local.presence(key)) {
            Some(known @ (Presence::Small | Presence::Large)) => known,
            _ => Presence::Unknown,
        }
    }

    fn put(&self, entry: &CacheEntry, request: &[u8]) -> Result<(), StoreError> {
        let local = self.local.as_ref().map(|local| local.put(entry, request));
        let shared = self.shared(|redis| redis.put(entry, request));
        match (local, shared) {
            (Some(result), _) => result,
            (None, Some(())) => Ok(()),
            (None, None) => Err(StoreError::Remote {
                location: self.health.location.clone(),
                message: "the entry could not be stored".into(),
            }),
        }
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, StoreError> {
        let local = match &self.local {
            Some(local) => local.delete(key)?,
            None => false,
        };
        let shared = self.either(|redis| redis.delete(key), |_| Ok(false))?;
        Ok(local || shared)
    }

    fn list(&self) -> Result<Vec<Listed>, StoreError> {
        self.either(RedisStore::list, FileStore::list)
    }

    fn request_text(&self, key: &CacheKey) -> Result<Option<String>, StoreError> {
        if let Some(local) = &self.local
            && let Some(text) = local.request_text(key)?
        {
            return Ok(Some(text));
        }
        self.either(|redis| redis.request_text(key), |_| Ok(None))
    }

    fn keys_starting_with(&self, prefix: &str) -> Result<Vec<CacheKey>, StoreError> {
        self.either(
            |r| r.keys_starting_with(prefix),
            |l| l.keys_starting_with(prefix),
        )
    }

    fn totals(&self) -> Result<(u64, u64), StoreError> {
        self.either(RedisStore::totals, FileStore::totals)
    }

    fn check(&self, deep: bool) -> Result<CheckReport, StoreError> {
        self.either(|r| r.check(deep), |l| l.check(deep))
    }

    fn purge(&self, report: &CheckReport) -> Result<u64, StoreError> {
        self.either(|r| r.purge(report), |l| l.purge(report))
    }

    fn report_at_startup(&self) {
        if let Some(local) = &self.local {
            local.report_at_startup();
        }
    }
}
