//! One Messages turn as chat messages.
//!
//! - a user turn's `tool_result` blocks become one `tool` message each,
//!   before the rest of the turn (so each follows the assistant's tool
//!   calls, as chat requires); a result's text is its string or its text
//!   blocks joined, prefixed `Error: ` when `is_error`; images in a result
//!   go into the user message after the tool messages (a tool message
//!   carries only text);
//! - text → text parts (a lone text without `cache_control` → a plain
//!   string), images → `image_url` (base64 → a `data:` URL, url → the
//!   URL);
//! - an assistant turn's `tool_use` → `tool_calls` (arguments the JSON
//!   text of `input`), thinking → `reasoning_content` (several joined) and
//!   the first non-empty signature → `reasoning_signature`;
//! - `redacted_thinking` is dropped: its data is encrypted for Anthropic
//!   alone and means nothing to another provider.
//!
//! Documents and file references have no chat form every provider reads,
//! so they are refused rather than silently lost.

use serde_json::{Map, Value, json};

use crate::error::AppError;

/// Appends the chat messages of one Messages turn.
pub(super) fn push_turn(messages: &mut Vec<Value>, turn: &Value) -> Result<(), AppError> {
    let role = turn.get("role").and_then(Value::as_str).unwrap_or("user");
    let content = turn.get("content").unwrap_or(&Value::Null);
    let blocks = match content {
        Value::String(text) => {
            messages.push(json!({"role": role, "content": text}));
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => return Ok(()),
    };
    match role {
        "assistant" => messages.push(assistant_message(blocks)),
        _ => push_user_blocks(messages, role, blocks)?,
    }
    Ok(())
}

/// A user turn: its tool results first, then the rest.
fn push_user_blocks(
    messages: &mut Vec<Value>,
    role: &str,
    blocks: &[Value],
) -> Result<(), AppError> {
    let mut parts = Vec::new();
    for block in blocks {
        match kind(block) {
            "tool_result" => messages.push(tool_message(block, &mut parts)?),
            _ => parts.extend(part(block)?),
        }
    }
    if let Some(content) = chat_content(parts) {
        messages.push(json!({"role": role, "content": content}));
    }
    Ok(())
}

/// An assistant turn: text, thinking and tool calls on one message.
fn assistant_message(blocks: &[Value]) -> Value {
    let mut parts = Vec::new();
    let mut reasoning: Option<String> = None;
    let mut signature: Option<&Value> = None;
    let mut calls = Vec::new();
    for block in blocks {
        match kind(block) {
            "text" => parts.extend(text_part(block)),
            "thinking" => {
                let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                reasoning.get_or_insert_with(String::new).push_str(text);
                // An empty signature is one llm-bridge made up (see render).
                let signed = block
                    .get("signature")
                    .filter(|s| s.as_str().is_some_and(|s| !s.is_empty()));
                signature = signature.or(signed);
            }
            "tool_use" => calls.push(tool_call(block)),
            _ => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), chat_content(parts).unwrap_or(Value::Null));
    if let Some(reasoning) = reasoning {
        message.insert("reasoning_content".into(), json!(reasoning));
    }
    if let Some(signature) = signature {
        message.insert("reasoning_signature".into(), signature.clone());
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    Value::Object(message)
}

fn tool_call(block: &Value) -> Value {
    let input = block.get("input").cloned().unwrap_or(json!({}));
    json!({
        "id": block.get("id").cloned().unwrap_or(json!("")),
        "type": "function",
        "function": {
            "name": block.get("name").cloned().unwrap_or(json!("")),
            "arguments": input.to_string(),
        },
    })
}

/// A `tool_result` as a `tool` message; its images added to `parts`.
fn tool_message(block: &Value, parts: &mut Vec<Value>) -> Result<Value, AppError> {
    let mut texts = Vec::new();
    match block.get("content") {
        Some(Value::String(text)) => texts.push(text.clone()),
        Some(Value::Array(inner)) => {
            for item in inner {
                match kind(item) {
                    "text" => {
                        texts.extend(item.get("text").and_then(Value::as_str).map(String::from))
                    }
                    _ => parts.extend(part(item)?),
                }
            }
        }
        _ => {}
    }
    let mut text = texts.join("\n");
    if block.get("is_error").and_then(Value::as_bool) == Some(true) {
        text = format!("Error: {text}");
    }
    let mut message = json!({
        "role": "tool",
        "tool_call_id": block.get("tool_use_id").cloned().unwrap_or(json!("")),
        "content": text,
    });
    if let (Some(cache), Some(object)) = (block.get("cache_control"), message.as_object_mut()) {
        object.insert("cache_control".into(), cache.clone());
    }
    Ok(message)
}

/// A user content block as a chat content part; `None` for one with no
/// counterpart that can be left out (thinking echoed in a user turn).
fn part(block: &Value) -> Result<Option<Value>, AppError> {
    match kind(block) {
        "text" => Ok(text_part(block)),
        "image" => image_part(block).map(Some),
        "document" | "container_upload" | "search_result" => Err(AppError::Unsupported(format!(
            "a `{}` content block cannot be sent to a provider that does not speak Anthropic Messages",
            kind(block)
        ))),
        _ => Ok(None),
    }
}

/// A text block as a text part, `cache_control` kept.
pub(super) fn text_part(block: &Value) -> Option<Value> {
    let text = block.get("text").and_then(Value::as_str)?;
    let mut part = json!({"type": "text", "text": text});
    keep_cache_control(block, &mut part);
    Some(part)
}

fn image_part(block: &Value) -> Result<Value, AppError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let field = |name: &str| source.get(name).and_then(Value::as_str).unwrap_or("");
    let url = match field("type") {
        "base64" => format!("data:{};base64,{}", field("media_type"), field("data")),
        "url" => field("url").to_string(),
        other => {
            return Err(AppError::Unsupported(format!(
                "an image with a `{other}` source cannot be sent to a provider that does not speak Anthropic Messages"
            )));
        }
    };
    let mut part = json!({"type": "image_url", "image_url": {"url": url}});
    keep_cache_control(block, &mut part);
    Ok(part)
}

fn keep_cache_control(block: &Value, part: &mut Value) {
    if let (Some(cache), Some(object)) = (block.get("cache_control"), part.as_object_mut()) {
        object.insert("cache_control".into(), cache.clone());
    }
}

/// Parts as a message's content: a lone plain text as a string; `None`
/// when there are none.
fn chat_content(parts: Vec<Value>) -> Option<Value> {
    match parts.as_slice() {
        [] => None,
        [only] if kind(only) == "text" && only.get("cache_control").is_none() => {
            Some(only["text"].clone())
        }
        _ => Some(Value::Array(parts)),
    }
}

fn kind(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}
