//! A Messages request in the exchange's form (an OpenAI chat request), for
//! a provider that does not speak Messages.
//!
//! - `system` (a string or text blocks, `cache_control` kept on the parts)
//!   becomes a leading system message, without Claude Code's billing line;
//! - messages become chat messages ([`content`]): tool results split out
//!   as `tool` messages, thinking onto `reasoning_content`;
//! - `max_tokens`, `stop_sequences` → `stop`, `temperature`, `top_p`,
//!   `stream`, `metadata.user_id` → `user`; `top_k` has no counterpart and
//!   is dropped;
//! - tools and `tool_choice` ([`tools`]); a server tool is refused;
//! - `thinking: {type: enabled, budget_tokens}` → `reasoning_effort`
//!   (≤ 2048 low, ≤ 8192 medium, else high); `adaptive` and `disabled`
//!   leave the provider's default.

mod content;
mod tools;

use serde_json::{Map, Value, json};

use super::billing::without_billing_line;
use crate::error::AppError;

/// Fields copied as they are.
const COPIED: [&str; 5] = ["model", "max_tokens", "temperature", "top_p", "stream"];

/// Thinking budgets at or below which the effort is `low`, then `medium`.
const LOW_BUDGET: u64 = 2048;
const MEDIUM_BUDGET: u64 = 8192;

/// The Messages request `messages_body` as an exchange chat request.
pub fn to_chat_request(messages_body: &Value) -> Result<Value, AppError> {
    let mut chat = Map::new();
    for field in COPIED {
        if let Some(value) = messages_body.get(field).filter(|v| !v.is_null()) {
            chat.insert(field.into(), value.clone());
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = messages_body.get("system") {
        let system = without_billing_line(system).unwrap_or_else(|| system.clone());
        messages.extend(system_message(&system));
    }
    let turns = messages_body.get("messages").and_then(Value::as_array);
    for turn in turns.into_iter().flatten() {
        content::push_turn(&mut messages, turn)?;
    }
    chat.insert("messages".into(), Value::Array(messages));
    if let Some(stop) = messages_body.get("stop_sequences").filter(|v| v.is_array()) {
        chat.insert("stop".into(), stop.clone());
    }
    if let Some(user) = messages_body
        .pointer("/metadata/user_id")
        .filter(|v| v.is_string())
    {
        chat.insert("user".into(), user.clone());
    }
    if let Some(effort) = messages_body.get("thinking").and_then(reasoning_effort) {
        chat.insert("reasoning_effort".into(), json!(effort));
    }
    tools::translate(messages_body, &mut chat)?;
    Ok(Value::Object(chat))
}

/// The system prompt as a system message; none when it is empty.
fn system_message(system: &Value) -> Option<Value> {
    match system {
        Value::String(text) if !text.is_empty() => Some(json!({"role": "system", "content": text})),
        Value::Array(blocks) => {
            let parts: Vec<Value> = blocks.iter().filter_map(content::text_part).collect();
            match parts.as_slice() {
                [] => None,
                [only] if only.get("cache_control").is_none() => {
                    Some(json!({"role": "system", "content": only["text"]}))
                }
                _ => Some(json!({"role": "system", "content": parts})),
            }
        }
        _ => None,
    }
}

/// The effort of an enabled thinking budget.
fn reasoning_effort(thinking: &Value) -> Option<&'static str> {
    if thinking.get("type").and_then(Value::as_str) != Some("enabled") {
        return None;
    }
    let budget = thinking.get("budget_tokens").and_then(Value::as_u64)?;
    Some(if budget <= LOW_BUDGET {
        "low"
    } else if budget <= MEDIUM_BUDGET {
        "medium"
    } else {
        "high"
    })
}

#[cfg(test)]
mod tests;
