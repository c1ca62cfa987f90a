//! Where a Responses answer reports its token use: the final `response`'s
//! `usage`. `input_tokens` counts every input token (cached reads
//! included), `input_tokens_details.cached_tokens` the cached reads (and
//! `cache_write_tokens` the writes), `output_tokens` every output token,
//! `output_tokens_details.reasoning_tokens` the reasoning among them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::tokens::Usage;

/// `usage` as the Responses API writes it.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The usage of a Responses `usage` object (as stored with a cache entry).
pub fn usage_from_value(value: &Value) -> Option<Usage> {
    let wire = WireUsage::deserialize(value).ok()?;
    let input = wire.input_tokens_details.unwrap_or_default();
    let output = wire.output_tokens_details.unwrap_or_default();
    Some(Usage {
        prompt_tokens: wire.input_tokens,
        completion_tokens: wire.output_tokens,
        cached_tokens: input.cached_tokens.unwrap_or(0),
        cache_write_tokens: input.cache_write_tokens.unwrap_or(0),
        cache_write_1h_tokens: 0,
        reasoning_tokens: output.reasoning_tokens.unwrap_or(0),
    })
}

/// A [`Usage`] as a Responses `usage` object, every field the SDK's
/// `ResponseUsage` requires present.
pub fn usage_value(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens + usage.cache_write_1h_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_usage() {
        let usage = json!({
            "input_tokens": 36, "input_tokens_details": {"cached_tokens": 10},
            "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 123
        });
        let read = usage_from_value(&usage).unwrap();
        assert_eq!(
            read,
            Usage {
                prompt_tokens: 36,
                completion_tokens: 87,
                cached_tokens: 10,
                reasoning_tokens: 64,
                ..Usage::default()
            }
        );
        assert_eq!(usage_from_value(&usage_value(&read)), Some(read));
        assert_eq!(usage_value(&read)["total_tokens"], 123);
        assert_eq!(usage_from_value(&json!("x")), None);
    }
}
