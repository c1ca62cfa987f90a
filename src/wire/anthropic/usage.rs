//! Anthropic's `usage` object: read into [`Usage`], merged across a
//! stream's events, and written in the exchange's shape.
//!
//! In a stream, `message_start` carries the input and cache counts and each
//! `message_delta` cumulative counts (at least `output_tokens`): the counts
//! are snapshots, never summed. Some gateways send `input_tokens: 0` in
//! `message_start` and the real count later, others a `0` in a later
//! `message_delta`; since every count is cumulative and never falls, the
//! merge keeps the larger of two numbers, which is the last real one.

use serde_json::{Map, Value, json};

use crate::tokens::Usage;

/// The usage of an Anthropic `usage` object; `None` when it is not an
/// object.
pub fn usage_from_value(usage: &Value) -> Option<Usage> {
    let usage = usage.as_object()?;
    let count = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or(0);
    let input = count("input_tokens");
    let cache_read = count("cache_read_input_tokens");
    let cache_creation = count("cache_creation_input_tokens");
    let one_hour = usage
        .get("cache_creation")
        .and_then(|c| c.get("ephemeral_1h_input_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(cache_creation);
    Some(Usage {
        prompt_tokens: input + cache_read + cache_creation,
        completion_tokens: count("output_tokens"),
        cached_tokens: cache_read,
        cache_write_tokens: cache_creation - one_hour,
        cache_write_1h_tokens: one_hour,
        reasoning_tokens: 0,
    })
}

/// `update` laid over `merged`, field by field: numbers keep the larger
/// (counts are cumulative), objects merge the same way, anything else
/// non-null replaces.
pub(super) fn merge(merged: &mut Map<String, Value>, update: &Value) {
    let Some(update) = update.as_object() else {
        return;
    };
    for (name, value) in update {
        match (merged.get_mut(name), value) {
            (_, Value::Null) => {}
            (Some(Value::Object(inner)), Value::Object(_)) => merge(inner, value),
            (Some(old @ Value::Number(_)), Value::Number(new)) => {
                if new.as_u64() >= old.as_u64() {
                    *old = value.clone();
                }
            }
            _ => {
                merged.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The exchange's `usage` for `usage`.
pub(super) fn chat_usage(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total(),
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_tokens_count_cache_reads_and_writes() {
        // As in Anthropic's prompt-caching docs, with a 1-hour share.
        let usage = json!({"input_tokens": 50, "cache_read_input_tokens": 100000,
            "cache_creation_input_tokens": 248, "output_tokens": 503,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 48}});
        let usage = usage_from_value(&usage).unwrap();
        assert_eq!(usage.prompt_tokens, 50 + 100000 + 248);
        assert_eq!(usage.cached_tokens, 100000);
        assert_eq!(
            (usage.cache_write_tokens, usage.cache_write_1h_tokens),
            (200, 48)
        );
        assert_eq!(usage.completion_tokens, 503);
        assert_eq!(usage_from_value(&json!(null)), None);
        assert_eq!(
            usage_from_value(&json!({})),
            Some(Usage::default()),
            "missing counts are zero"
        );
    }

    #[test]
    fn merging_keeps_cumulative_counts() {
        let mut merged = Map::new();
        merge(
            &mut merged,
            &json!({"input_tokens": 25, "output_tokens": 1, "cache_creation": {"ephemeral_1h_input_tokens": 4}}),
        );
        merge(
            &mut merged,
            &json!({"input_tokens": 0, "output_tokens": 15, "cache_creation": null}),
        );
        merge(&mut merged, &json!({"output_tokens": 17}));
        assert_eq!(
            Value::Object(merged),
            json!({"input_tokens": 25, "output_tokens": 17, "cache_creation": {"ephemeral_1h_input_tokens": 4}})
        );
    }
}
