//! The cache in Redis, shared by every instance pointed at it.
//!
//! An entry is one hash, `PREFIX:entry:KEY`, with fields `meta` (the
//! entry's metadata as JSON, as the flat files keep it), `body` and
//! `request`; the keys are listed in the sorted set `PREFIX:keys` (all at
//! score 0, so a key prefix is a lexical range). Storing an entry writes
//! its hash and its listing in one transaction. Size and age are Redis's
//! business: with `[cache] ttl` an entry expires with it, and a size cap is
//! Redis's `maxmemory` with an eviction policy such as `allkeys-lru`. An
//! evicted entry leaves its listing behind; listings whose hash is gone
//! are skipped, reported by `check` as leftovers and removed by `purge`.
//!
//! Connections are blocking (the store interface blocks; callers run it on
//! the blocking pool) and pooled. Every command and connection attempt is
//! bounded by the configured timeout, so a Redis that is slow or gone
//! costs a request at most that long; [`super::tiered`] decides what
//! happens then.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use redis::{Connection, RedisResult};

use super::entry::{CacheEntry, EntryMeta};
use super::key::CacheKey;
use super::store::{CacheStore, CheckReport, Listed, StoreError};

/// Stores an entry: its hash, its listing, its expiry and the bytes
/// counter (less what an entry it replaces took), in one step. `KEYS`:
/// the entry, the listing, the counter; `ARGV`: meta, body, request, key,
/// expiry in ms (0: none).
const PUT: &str = r"
local old = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  old = redis.call('HSTRLEN', KEYS[1], 'meta') + redis.call('HSTRLEN', KEYS[1], 'body')
    + redis.call('HSTRLEN', KEYS[1], 'request')
end
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'body', ARGV[2], 'request', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
redis.call('INCRBY', KEYS[3], string.len(ARGV[1]) + string.len(ARGV[2]) + string.len(ARGV[3]) - old)
return 1
";

/// Deletes an entry, its listing and its bytes from the counter.
const DELETE: &str = r"
local size = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  size = redis.call('HSTRLEN', KEYS[1], 'meta') + redis.call('HSTRLEN', KEYS[1], 'body')
    + redis.call('HSTRLEN', KEYS[1], 'request')
end
local deleted = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if size > 0 then redis.call('DECRBY', KEYS[3], size) end
return deleted
";

/// Idle connections kept for reuse: one per blocking thread that is
/// usually busy with the cache at once.
const POOL_SIZE: usize = 8;
/// Keys whose metadata one round trip reads when listing.
const LIST_BATCH: usize = 500;

/// Pooled blocking connections to one Redis, every command and connection
/// attempt bounded by the timeout. Shared by the cache store and the
/// shared rate limits ([`crate::limits::shared`]).
pub struct RedisPool {
    client: redis::Client,
    /// The URL with any password masked, for messages.
    shown: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl RedisPool {
    /// A pool for `url` (nothing is connected until it is used).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let shown = crate::config::secret::displayable_url(url);
        let client = redis::Client::open(url).map_err(|error| StoreError::Remote {
            location: shown.clone(),
            message: error.to_string(),
        })?;
        Ok(Self {
            client,
            shown,
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Longest a command may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The URL with any password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `work` on a pooled connection (a new one when none is idle).
    /// A connection that failed is dropped, not pooled again.
    pub fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.connect().map_err(|e| self.error(&e))?,
        };
        let result = work(&mut connection);
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < POOL_SIZE {
                idle.push(connection);
            }
        }
        result.map_err(|e| self.error(&e))
    }

    fn connect(&self) -> RedisResult<Connection> {
        let connection = self.client.get_connection_with_timeout(self.timeout)?;
        connection.set_read_timeout(Some(self.timeout))?;
        connection.set_write_timeout(Some(self.timeout))?;
        Ok(connection)
    }

    fn error(&self, error: &redis::RedisError) -> StoreError {
        StoreError::Remote {
            location: self.shown.clone(),
            message: error.to_string(),
        }
    }
}

/// The store on one Redis.
pub struct RedisStore {
    pool: std::sync::Arc<RedisPool>,
    prefix: String,
    /// Entries expire after this (`[cache] ttl`).
    ttl: Option<Duration>,
    put: redis::Script,
    delete: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.pool.shown)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `pool`'s Redis, under `prefix`.
    pub fn new(pool: std::sync::Arc<RedisPool>, prefix: &str, ttl: Option<Duration>) -> Self {
        Self {
            pool,
            prefix: prefix.to_string(),
            ttl,
            put: redis::Script::new(PUT),
            delete: redis::Script::new(DELETE),
        }
    }

    fn entry_key(&self, key: &str) -> String {
        format!("{}:entry:{key}", self.prefix)
    }

    fn index_key(&self) -> String {
        format!("{}:keys", self.prefix)
    }

    fn bytes_key(&self) -> String {
        format!("{}:bytes", self.prefix)
    }

    /// The entry and its stored request, if whole and intact.
    pub fn get_with_request(
        &self,
        key: &CacheKey,
    ) -> Result<Option<(CacheEntry, Bytes)>, StoreError> {
        Ok(self
            .fetch(key, true)?
            .map(|(entry, request)| (entry, Bytes::from(request.unwrap_or_default()))))
    }

    /// The entry, and with `request` its stored request too (a plain
    /// lookup does not need it, and it can be as large as the answer).
    fn fetch(&self, key: &CacheKey, request: bool) -> Result<Option<Fetched>, StoreError> {
        let name = self.entry_key(&key.to_string());
        let fields: Vec<Option<Vec<u8>>> = self.pool.with(|c| {
            let mut command = redis::cmd("HMGET");
            command.arg(&name).arg("meta").arg("body");
            if request {
                command.arg("request");
            }
            command.query(c)
        })?;
        let mut fields = fields.into_iter();
        let (Some(Some(meta)), Some(Some(body)), stored_request) =
            (fields.next(), fields.next(), fields.next().flatten())
        else {
            return Ok(None);
        };
        match intact(&meta, body) {
            Some(entry) => Ok(Some((entry, stored_request))),
            None => {
                tracing::warn!(key = %key, store = %self.pool.shown, "a damaged cache entry in Redis was removed");
                self.delete(key)?;
                Ok(None)
            }
        }
    }

    /// Every listed key, sorted.
    fn listed_keys(&self) -> Result<Vec<String>, StoreError> {
        let index = self.index_key();
        self.pool
            .with(|c| redis::cmd("ZRANGE").arg(&index).arg(0).arg(-1).query(c))
    }

    /// The metadata and size of each of `keys` (`None` where the hash is
    /// gone), one round trip per [`LIST_BATCH`].
    fn metas(&self, keys: &[String]) -> Result<Vec<Option<StoredMeta>>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for batch in keys.chunks(LIST_BATCH) {
            let mut pipe = redis::pipe();
            for key in batch {
                let name = self.entry_key(key);
                pipe.cmd("HGET").arg(&name).arg("meta");
                pipe.cmd("HSTRLEN").arg(&name).arg("body");
                pipe.cmd("HSTRLEN").arg(&name).arg("request");
            }
            let answers: Vec<redis::Value> = self.pool.with(|c| pipe.query(c))?;
            for triple in answers.chunks(3) {
                let meta: Option<Vec<u8>> = triple
                    .first()
                    .and_then(|v| redis::FromRedisValue::from_redis_value_ref(v).ok());
                let size = |i: usize| -> u64 {
                    triple
                        .get(i)
                        .and_then(|v| redis::FromRedisValue::from_redis_value_ref(v).ok())
                        .unwrap_or(0)
                };
                found.push(meta.map(|meta| {
                    let bytes = meta.len() as u64 + size(1) + size(2);
                    (meta, bytes)
                }));
            }
        }
        Ok(found)
    }
}

/// An entry read back, with its stored request when it was asked for.
type Fetched = (CacheEntry, Option<Vec<u8>>);

/// An entry's metadata as stored (JSON) and the bytes of its fields.
type StoredMeta = (Vec<u8>, u64);

/// The entry from its stored fields, when its metadata parses and its body
/// is the one the metadata describes.
fn intact(meta: &[u8], body: Vec<u8>) -> Option<CacheEntry> {
    use sha2::{Digest, Sha256};
    let meta: EntryMeta = serde_json::from_slice(meta).ok()?;
    let whole =
        meta.bytes == body.len() as u64 && meta.sha256 == hex::encode(Sha256::digest(&body));
    whole.then(|| CacheEntry {
        meta,
        body: Bytes::from(body),
    })
}

impl CacheStore for RedisStore {
    fn location(&self) -> String {
        format!("Redis {} (prefix {})", self.pool.shown, self.prefix)
    }

    fn get(&self, key: &CacheKey) -> Result<Option<CacheEntry>, StoreError> {
        Ok(self.fetch(key, false)?.map(|(entry, _)| entry))
    }

    fn put(&self, entry: &CacheEntry, request: &[u8]) -> Result<(), StoreError> {
        let meta = serde_json::to_vec(&entry.meta)?;
        let ttl_ms = self
            .ttl
            .map_or(0, |ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let mut script = self.put.prepare_invoke();
        script
            .key(self.entry_key(&entry.meta.key))
            .key(self.index_key())
            .key(self.bytes_key())
            .arg(meta)
            .arg(entry.body.as_ref())
            .arg(request)
            .arg(&entry.meta.key)
            .arg(ttl_ms);
        self.pool.with(|c| script.invoke::<()>(c))
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, StoreError> {
        let key = key.to_string();
        let mut script = self.delete.prepare_invoke();
        script
            .key(self.entry_key(&key))
            .key(self.index_key())
            .key(self.bytes_key())
            .arg(&key);
        let deleted: u64 = self.pool.with(|c| script.invoke(c))?;
        Ok(deleted > 0)
    }

    fn list(&self) -> Result<Vec<Listed>, StoreError> {
        let keys = self.listed_keys()?;
        let metas = self.metas(&keys)?;
        Ok(metas
            .into_iter()
            .flatten()
            .filter_map(|(meta, disk_bytes)| {
                let meta = serde_json::from_slice(&meta).ok()?;
                Some(Listed { meta, disk_bytes })
            })
            .collect())
    }

    fn request_text(&self, key: &CacheKey) -> Result<Option<String>, StoreError> {
        let name = self.entry_key(&key.to_string());
        let request: Option<Vec<u8>> = self
            .pool
            .with(|c| redis::cmd("HGET").arg(&name).arg("request").query(c))?;
        Ok(request.map(|r| String::from_utf8_lossy(&r).into_owned()))
    }

    fn keys_starting_with(&self, prefix: &str) -> Result<Vec<CacheKey>, StoreError> {
        let index = self.index_key();
        // Keys are lower-case hex: every key with this prefix sorts before
        // the prefix followed by a character past 'f'.
        let (from, to) = (format!("[{prefix}"), format!("({prefix}g"));
        let keys: Vec<String> = self.pool.with(|c| {
            redis::cmd("ZRANGEBYLEX")
                .arg(&index)
                .arg(&from)
                .arg(&to)
                .query(c)
        })?;
        Ok(keys.iter().filter_map(|k| CacheKey::parse(k)).collect())
    }

    /// Listed entries and the bytes counter: cheap, for every scrape. The
    /// counter drifts up when Redis evicts or expires entries, until a
    /// purge recounts it.
    fn totals(&self) -> Result<(u64, u64), StoreError> {
        let (index, bytes) = (self.index_key(), self.bytes_key());
        let (entries, bytes): (u64, Option<i64>) = self.pool.with(|c| {
            redis::pipe()
                .cmd("ZCARD")
                .arg(&index)
                .cmd("GET")
                .arg(&bytes)
                .query(c)
        })?;
        Ok((entries, bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0))))
    }

    fn check(&self, _deep: bool) -> Result<CheckReport, StoreError> {
        let keys = self.listed_keys()?;
        let metas = self.metas(&keys)?;
        let mut report = CheckReport::default();
        for (key, meta) in keys.into_iter().zip(metas) {
            match meta {
                None => report.leftovers.push(key),
                Some((meta, _)) => match serde_json::from_slice::<EntryMeta>(&meta) {
                    Ok(_) => report.ok += 1,
                    Err(error) => report
                        .broken
                        .push((key, format!("unreadable metadata: {error}"))),
                },
            }
        }
        Ok(report)
    }

    fn purge(&self, report: &CheckReport) -> Result<u64, StoreError> {
        let purged = self.purge_listed(report)?;
        // Recount what is left: evicted and expired entries never told the
        // counter they went.
        let bytes: u64 = self.list()?.iter().map(|l| l.disk_bytes).sum();
        let name = self.bytes_key();
        self.pool
            .with(|c| redis::cmd("SET").arg(&name).arg(bytes).query::<()>(c))?;
        Ok(purged)
    }
}

impl RedisStore {
    fn purge_listed(&self, report: &CheckReport) -> Result<u64, StoreError> {
        let mut purged = 0;
        for key in report
            .leftovers
            .iter()
            .chain(report.broken.iter().map(|(k, _)| k))
        {
            if let Some(key) = CacheKey::parse(key) {
                self.delete(&key)?;
                purged += 1;
            }
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_tls_urls_make_a_pool_without_connecting() {
        for url in [
            "redis://127.0.0.1:1/0",
            "rediss://:secret@cache.example:6380/2",
        ] {
            let pool = RedisPool::new(url, Duration::from_millis(10)).unwrap();
            assert!(!pool.shown().contains("secret"), "{}", pool.shown());
        }
        // Nothing listens on port 1: a bounded, reported failure.
        let pool = RedisPool::new("redis://127.0.0.1:1/0", Duration::from_millis(50)).unwrap();
        let error = pool
            .with(|c| redis::cmd("PING").query::<String>(c))
            .unwrap_err();
        assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
        assert!(RedisPool::new("mysql://x", Duration::from_millis(10)).is_err());
    }
}
