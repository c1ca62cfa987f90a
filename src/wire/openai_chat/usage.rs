//! Where an OpenAI chat answer reports its token use: its `usage` object
//! (`prompt_tokens`, `completion_tokens`,
//! `prompt_tokens_details.cached_tokens`).

use serde::Deserialize;
use serde_json::Value;

use crate::tokens::Usage;

/// `usage` as OpenAI writes it.
#[derive(Deserialize)]
pub(super) struct WireUsage {
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

/// The usage of an OpenAI `usage` object (as stored with a cache entry).
pub fn usage_from_value(value: &Value) -> Option<Usage> {
    WireUsage::deserialize(value).ok().map(Usage::from)
}

/// The usage a JSON text (a completion or a chunk) reports, if any.
pub(super) fn usage_of(json: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct WithUsage {
        #[serde(default)]
        usage: Option<WireUsage>,
    }
    serde_json::from_slice::<WithUsage>(json)
        .ok()?
        .usage
        .map(Usage::from)
}
