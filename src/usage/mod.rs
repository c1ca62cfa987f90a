//! Token usage: what an upstream reports (or, failing that, a local
//! estimate), read from a body as it passes, and the [`UsageRecord`] kept
//! for every chat request.
//!
//! - [`probe`]: reads usage (and, when none is expected, the answer's text
//!   for an estimate) from JSON or SSE chunk by chunk.
//! - [`stream`]: the adapters on a client's answer: the tap that hands what
//!   the probe found to the request's log slot, and the filter that drops
//!   the usage chunk a client did not ask for.
//! - [`record`]: the record and how it is built and priced.

pub mod account;
pub mod probe;
pub mod record;
pub mod stream;

use serde::Deserialize;
use serde_json::Value;

pub use probe::{Probed, UsageProbe};
pub use record::{CacheStatus, Metering, UsageRecord};

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// The usage of an OpenAI `usage` object (as stored with a cache entry).
    pub fn from_value(value: &Value) -> Option<Self> {
        WireUsage::deserialize(value).ok().map(Usage::from)
    }
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(wire: WireUsage) -> Self {
        Self {
            prompt_tokens: wire.prompt_tokens,
            completion_tokens: wire.completion_tokens,
            cached_tokens: wire
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}
