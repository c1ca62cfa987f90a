//! An exchange answer rendered as a Messages answer: a `chat.completion`
//! as a `message` ([`render_message`]), and the pieces the stream renderer
//! shares — the stop reason of a finish reason ([`stop_reason`]) and the
//! usage in Anthropic's terms ([`anthropic_usage`]).
//!
//! Thinking comes first, then text (a refusal is text too), then tool
//! uses, as Claude orders its blocks. A thinking block always has a
//! `signature` (the SDKs' types require one): the provider's when it gave
//! one, else empty — an empty signature is never sent back upstream.

use serde_json::{Map, Value, json};

use crate::wire::openai_chat::usage_from_value;

/// An exchange `chat.completion` as a Messages `message` from `model`.
pub fn render_message(completion: &Value, model: &str) -> Value {
    let choice = completion
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    json!({
        "id": message_id(completion.get("id").and_then(Value::as_str)),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(message),
        "stop_reason": stop_reason(finish),
        "stop_sequence": null,
        "usage": anthropic_usage(completion.get("usage").unwrap_or(&Value::Null)),
    })
}

/// A Messages id from an exchange id: `chatcmpl-abc` → `msg_abc`.
pub fn message_id(id: Option<&str>) -> String {
    match id {
        Some(id) if id.starts_with("msg_") => id.to_string(),
        Some(id) if !id.is_empty() => {
            format!("msg_{}", id.strip_prefix("chatcmpl-").unwrap_or(id))
        }
        _ => "msg_llm_bridge".to_string(),
    }
}

/// An assistant message's blocks: thinking, text, tool uses.
fn content_blocks(message: &Value) -> Vec<Value> {
    let text = |field: &str| {
        message
            .get(field)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let mut blocks = Vec::new();
    let signature = text("reasoning_signature");
    if text("reasoning_content").is_some() || signature.is_some() {
        blocks.push(json!({
            "type": "thinking",
            "thinking": text("reasoning_content").unwrap_or(""),
            "signature": signature.unwrap_or(""),
        }));
    }
    for field in ["content", "refusal"] {
        if let Some(text) = text(field) {
            blocks.push(json!({"type": "text", "text": text}));
        }
    }
    let calls = message.get("tool_calls").and_then(Value::as_array);
    blocks.extend(
        calls
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| tool_use(i, c)),
    );
    blocks
}

/// A tool call as a `tool_use` block; arguments that are not a JSON
/// object (cut short, say) become an empty input.
fn tool_use(position: usize, call: &Value) -> Value {
    let function = call.get("function").unwrap_or(&Value::Null);
    let arguments = function
        .get("arguments")
        .and_then(Value::as_str)
        .unwrap_or("");
    let input = serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    json!({
        "type": "tool_use",
        "id": tool_use_id(call.get("id").and_then(Value::as_str), position),
        "name": function.get("name").and_then(Value::as_str).unwrap_or(""),
        "input": input,
    })
}

/// A tool call's id, or one made up from its position when it has none.
pub fn tool_use_id(id: Option<&str>, position: usize) -> String {
    match id {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("toolu_llm_bridge_{position}"),
    }
}

/// The stop reason of an exchange finish reason (none yet: `end_turn`).
pub fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Exchange usage in Anthropic's terms: `input_tokens` without cached
/// reads and cache writes (never below 0), those two apart, and the
/// output; the 5-minute / 1-hour split when there were 1-hour writes.
pub fn anthropic_usage(usage: &Value) -> Value {
    let usage = usage_from_value(usage).unwrap_or_default();
    let writes = usage.cache_write_tokens + usage.cache_write_1h_tokens;
    let input = usage
        .prompt_tokens
        .saturating_sub(usage.cached_tokens)
        .saturating_sub(writes);
    let mut out = Map::new();
    out.insert("input_tokens".into(), json!(input));
    out.insert("cache_creation_input_tokens".into(), json!(writes));
    out.insert("cache_read_input_tokens".into(), json!(usage.cached_tokens));
    out.insert("output_tokens".into(), json!(usage.completion_tokens));
    if usage.cache_write_1h_tokens > 0 {
        out.insert(
            "cache_creation".into(),
            json!({
                "ephemeral_5m_input_tokens": usage.cache_write_tokens,
                "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
            }),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests;
