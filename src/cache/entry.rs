//! A cached answer: the response exactly as the upstream sent it, and the
//! metadata needed to serve, list and check it.

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::wire::BodyKind;
use crate::wire::Wire;

/// Version of the metadata file's format.
pub const ENTRY_FORMAT: u32 = 1;

/// One chunk as it arrived: its offset from the start of the response and
/// its length, so a replay can keep the original pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkTiming {
    pub offset_ms: u64,
    pub len: u64,
}

/// `<key>.meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    pub format: u32,
    pub key: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The same instant, readable.
    pub created: String,
    pub status: u16,
    pub content_type: String,
    pub kind: BodyKind,
    /// The API the body is written in (entries written before it was
    /// recorded are OpenAI chat answers).
    #[serde(default)]
    pub wire: Wire,
    pub provider: String,
    pub upstream_model: String,
    /// The model as the client named it.
    pub model: String,
    pub usage: Option<Value>,
    /// The original time to the first byte and to the end.
    pub ttfb_ms: Option<f64>,
    pub latency_ms: f64,
    /// Size and SHA-256 of `<key>.txt`, checked on every read.
    pub bytes: u64,
    pub sha256: String,
    #[serde(default)]
    pub chunks: Vec<ChunkTiming>,
}

impl EntryMeta {
    /// Age in whole seconds at `now_ms`.
    pub fn age_secs(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.created_ms) / 1000
    }
}

/// A whole entry.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub meta: EntryMeta,
    pub body: Bytes,
}

impl CacheEntry {
    /// An entry for `body`, with its size and SHA-256 filled in.
    pub fn seal(mut meta: EntryMeta, body: Bytes) -> Self {
        use sha2::{Digest, Sha256};
        meta.bytes = body.len() as u64;
        meta.sha256 = hex::encode(Sha256::digest(&body));
        Self { meta, body }
    }
}

/// A time in milliseconds since the Unix epoch as RFC 3339 (UTC).
pub fn rfc3339(ms: u64, precision: chrono::SecondsFormat) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0))
        .map(|t| t.to_rfc3339_opts(precision, true))
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
