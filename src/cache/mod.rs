//! The response cache: keys, entries, the [`CacheStore`] trait and its
//! flat-file backend, and the request path's view of it ([`Cache`]).
//!
//! The backend is chosen here, in one place ([`open_store`]), for the
//! server and the `cache` commands alike.

pub mod control;
pub mod entry;
pub mod file;
pub mod find;
pub mod key;
pub mod service;
pub mod store;
pub mod writer;

use std::path::Path;
use std::sync::Arc;

pub use control::CacheControl;
pub use entry::{CacheEntry, ChunkTiming, EntryMeta};
pub use file::FileStore;
pub use key::CacheKey;
pub use service::Cache;
pub use store::{CacheStore, CheckReport, StoreError};

/// The server's store for `dir` (created when missing) with the size cap
/// of `[cache] max_total_bytes`.
pub fn open_store(
    dir: &Path,
    max_total_bytes: Option<u64>,
) -> Result<Arc<dyn CacheStore>, StoreError> {
    let store = FileStore::open(dir)?.with_size_cap(max_total_bytes);
    Ok(Arc::new(store))
}

/// The store in `dir` for the `cache` commands: it must exist already, so
/// a mistyped folder is an error rather than an empty cache.
pub fn open_existing_store(dir: &Path) -> Result<Arc<dyn CacheStore>, StoreError> {
    Ok(Arc::new(FileStore::open_existing(dir)?))
}
