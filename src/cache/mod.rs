//! The response cache: keys, entries, the [`CacheStore`] trait, its
//! flat-file backend and its Redis one (with the local files in front,
//! [`tiered`]), and the request path's view of it ([`Cache`]).
//!
//! The backend is chosen here, in one place ([`open_store`]), for the
//! server and the `cache` commands alike.

pub mod control;
pub mod entry;
pub mod file;
pub mod find;
pub mod key;
pub mod redis;
pub mod service;
pub mod store;
pub mod tiered;
pub mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::redis::RedisConfig;
use redis::{RedisPool, RedisStore};
use tiered::{SharedHealth, TieredStore};

pub use control::CacheControl;
pub use entry::{CacheEntry, ChunkTiming, EntryMeta};
pub use file::FileStore;
pub use key::CacheKey;
pub use service::Cache;
pub use store::{CacheStore, CheckReport, StoreError};

/// The server's store, and Redis's health when it is shared through it.
pub type OpenedStore = (Arc<dyn CacheStore>, Option<Arc<SharedHealth>>);

/// The server's store for `dir` (created when missing) with the size cap
/// of `[cache] max_total_bytes`; with `[redis]`, the local folder (unless
/// `local_tier = false`) in front of Redis, and Redis's health.
pub fn open_store(
    dir: &Path,
    max_total_bytes: Option<u64>,
    redis: Option<&RedisConfig>,
    ttl: Option<Duration>,
) -> Result<OpenedStore, StoreError> {
    let Some(redis) = redis else {
        let store = FileStore::open(dir)?.with_size_cap(max_total_bytes);
        return Ok((Arc::new(store), None));
    };
    let local = match redis.local_tier {
        true => Some(FileStore::open(dir)?.with_size_cap(max_total_bytes)),
        false => None,
    };
    let pool = Arc::new(RedisPool::new(redis.url.expose(), redis.timeout)?);
    let shared = RedisStore::new(pool, &redis.prefix, ttl);
    let store = TieredStore::new(local, shared, redis.retry_after);
    let health = store.health();
    Ok((Arc::new(store), Some(health)))
}

/// The store for the `cache` commands: Redis when `[redis]` is set (it
/// holds every instance's entries), else the folder `dir`, which must exist
/// already, so a mistyped folder is an error rather than an empty cache.
pub fn open_existing_store(
    dir: &Path,
    redis: Option<&RedisConfig>,
) -> Result<Arc<dyn CacheStore>, StoreError> {
    match redis {
        Some(redis) => {
            let pool = Arc::new(RedisPool::new(redis.url.expose(), redis.timeout)?);
            Ok(Arc::new(RedisStore::new(pool, &redis.prefix, None)))
        }
        None => Ok(Arc::new(FileStore::open_existing(dir)?)),
    }
}
