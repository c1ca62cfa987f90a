//! Where a Gemini answer reports its token use: `usageMetadata`.
//! `promptTokenCount` counts the whole prompt (cached content included;
//! a tool's own prompt tokens, `toolUsePromptTokenCount`, come on top);
//! the thoughts (`thoughtsTokenCount`) are outside `candidatesTokenCount`,
//! so output is candidates + thoughts.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::tokens::Usage;

/// `usageMetadata` as Gemini writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

/// The usage of a `usageMetadata` object (as stored with a cache entry).
pub fn usage_from_value(usage_metadata: &Value) -> Option<Usage> {
    if !usage_metadata.is_object() {
        return None;
    }
    let wire = UsageMetadata::deserialize(usage_metadata).ok()?;
    Some(Usage {
        prompt_tokens: wire
            .prompt_token_count
            .saturating_add(wire.tool_use_prompt_token_count),
        completion_tokens: wire
            .candidates_token_count
            .saturating_add(wire.thoughts_token_count),
        cached_tokens: wire.cached_content_token_count,
        reasoning_tokens: wire.thoughts_token_count,
        ..Usage::default()
    })
}

/// A `usageMetadata` object as the exchange's chat `usage`; `None` when it
/// is not one.
pub fn chat_usage(usage_metadata: &Value) -> Option<Value> {
    let usage = usage_from_value(usage_metadata)?;
    Some(json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total(),
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }))
}
