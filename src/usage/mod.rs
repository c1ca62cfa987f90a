//! The usage record: one per request a dialect handled, built when its
//! response ends from what its notes say ([`crate::notes`]) — the tokens
//! the answer reported or, failing that, local estimates — priced, and
//! handed to the usage store and the metrics.

pub mod record;

pub use record::{CacheStatus, Finished, UsageRecord, endpoint_of};
