//! Where an OpenAI chat answer reports its token use: its `usage` object.
//! `prompt_tokens` counts every input token and `completion_tokens` every
//! output token; `prompt_tokens_details.cached_tokens` the cached reads
//! (DeepSeek's `prompt_cache_hit_tokens` when that is what is there),
//! `prompt_tokens_details.cache_write_tokens` the cache writes (and
//! llm-bridge's `cache_write_1h_tokens` those of a 1-hour cache, from
//! Anthropic), `completion_tokens_details.reasoning_tokens` the reasoning.

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
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's name for the cached reads.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
    #[serde(default)]
    cache_write_1h_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(wire: WireUsage) -> Self {
        let prompt = wire.prompt_tokens_details.unwrap_or_default();
        let completion = wire.completion_tokens_details.unwrap_or_default();
        Self {
            prompt_tokens: wire.prompt_tokens,
            completion_tokens: wire.completion_tokens,
            cached_tokens: prompt
                .cached_tokens
                .or(wire.prompt_cache_hit_tokens)
                .unwrap_or(0),
            cache_write_tokens: prompt.cache_write_tokens.unwrap_or(0),
            cache_write_1h_tokens: prompt.cache_write_1h_tokens.unwrap_or(0),
            reasoning_tokens: completion.reasoning_tokens.unwrap_or(0),
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
