//! A chat conversation written as Anthropic's: the system and developer
//! messages joined into the top-level `system`, the rest as alternating
//! `user`/`assistant` turns.
//!
//! - System texts are joined with a blank line into a string, or kept as a
//!   list of text blocks when any of them carries `cache_control` (the
//!   string form has nowhere to put it).
//! - An assistant message's `reasoning_content` becomes a `thinking` block
//!   before its text, but only with its `reasoning_signature`: Anthropic
//!   refuses unsigned thinking, so thinking without one is dropped. Its
//!   `tool_calls` become `tool_use` blocks (input `{}` when the arguments
//!   are not a JSON object).
//! - `tool` messages become `tool_result` blocks of a user turn; as the
//!   results of one assistant turn follow it, they land together in the
//!   one user message right after it, ahead of any text the user added.
//! - Consecutive messages of one role are merged (Anthropic wants turns to
//!   alternate); a message left with no blocks is not sent.

use serde_json::{Map, Value, json};

use super::content::{blocks, mark_last};
use crate::error::AppError;
use crate::error::invalid;

/// The conversation: the `system` value (if any) and the `messages`.
pub(super) struct Conversation {
    pub system: Option<Value>,
    pub messages: Vec<Value>,
}

/// The conversation of a chat body's `messages`.
pub(super) fn conversation(messages: &[Value]) -> Result<Conversation, AppError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        let role = message.get("role").and_then(Value::as_str);
        let (role, blocks) = match role {
            Some("system" | "developer") => {
                system.extend(system_blocks(message)?);
                continue;
            }
            Some("user") => ("user", user_blocks(message)?),
            Some("assistant") => ("assistant", assistant_blocks(message)?),
            Some("tool") => ("user", vec![tool_result(message)?]),
            _ => {
                return Err(invalid(
                    "messages",
                    "a message's role must be system, developer, user, assistant or tool",
                ));
            }
        };
        match turns.last_mut() {
            _ if blocks.is_empty() => {}
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            // Stable: results keep their order, and come before the text.
            blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            json!({"role": role, "content": blocks})
        })
        .collect();
    Ok(Conversation {
        system: system_value(system),
        messages,
    })
}

fn system_blocks(message: &Value) -> Result<Vec<Value>, AppError> {
    let mut blocks = blocks(message.get("content"))?;
    if blocks
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str) != Some("text"))
    {
        return Err(invalid("messages", "a system message may only hold text"));
    }
    mark_last(&mut blocks, message.get("cache_control"));
    Ok(blocks)
}

/// A string of the texts joined by blank lines, or the blocks themselves
/// when one carries `cache_control`.
fn system_value(blocks: Vec<Value>) -> Option<Value> {
    if blocks.is_empty() {
        return None;
    }
    if blocks.iter().any(|b| b.get("cache_control").is_some()) {
        return Some(Value::Array(blocks));
    }
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    Some(json!(texts.join("\n\n")))
}

fn user_blocks(message: &Value) -> Result<Vec<Value>, AppError> {
    let mut blocks = blocks(message.get("content"))?;
    mark_last(&mut blocks, message.get("cache_control"));
    Ok(blocks)
}

fn assistant_blocks(message: &Value) -> Result<Vec<Value>, AppError> {
    let mut out = Vec::new();
    let signature = message.get("reasoning_signature").and_then(Value::as_str);
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        let thinking = message.get("reasoning_content").and_then(Value::as_str);
        out.push(
            json!({"type": "thinking", "thinking": thinking.unwrap_or_default(),
            "signature": signature}),
        );
    }
    out.extend(blocks(message.get("content"))?);
    let calls = message.get("tool_calls").and_then(Value::as_array);
    out.extend(calls.into_iter().flatten().map(tool_use));
    mark_last(&mut out, message.get("cache_control"));
    Ok(out)
}

/// A chat tool call as a `tool_use` block.
fn tool_use(call: &Value) -> Value {
    let function = call.get("function");
    let text = |name: &str| function.and_then(|f| f.get(name)).and_then(Value::as_str);
    let input = text("arguments")
        .and_then(|a| serde_json::from_str::<Map<String, Value>>(a).ok())
        .unwrap_or_default();
    json!({"type": "tool_use",
        "id": call.get("id").and_then(Value::as_str).unwrap_or_default(),
        "name": text("name").unwrap_or_default(),
        "input": input})
}

/// A `tool` message as a `tool_result` block; its content kept (a string,
/// or its parts as blocks).
fn tool_result(message: &Value) -> Result<Value, AppError> {
    let id = message
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "a tool message has no tool_call_id"))?;
    let content = match message.get("content") {
        Some(Value::String(text)) => json!(text),
        other => Value::Array(blocks(other)?),
    };
    let mut result = json!({"type": "tool_result", "tool_use_id": id, "content": content});
    if let Some(control) = message.get("cache_control").filter(|c| !c.is_null()) {
        result["cache_control"] = control.clone();
    }
    Ok(result)
}
