//! The response cache: keys, entries, storage, and what may be stored.

pub mod control;
pub mod convert;
pub mod entry;
pub mod file;
pub mod key;
pub mod service;
pub mod store;
pub mod validate;

pub use control::CacheControl;
pub use entry::{BodyKind, CacheEntry, ChunkTiming, EntryMeta};
pub use file::FileStore;
pub use key::CacheKey;
pub use service::Cache;
pub use store::{CacheStore, StoreError};
