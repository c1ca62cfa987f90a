//! The prompt-counting rule of a chat-completions request: OpenAI's
//! published one (its cookbook's `num_tokens_from_messages`): 3 tokens a
//! message, the tokens of every string field (role, content, name, …), 1
//! more for `name`, and 3 to prime the reply. Tool and function
//! definitions and tool calls count as their JSON text, which somewhat
//! overstates what OpenAI charges for them; images follow the tile rule in
//! [`super::image`]; audio and file parts count 0 (their cost is not
//! knowable from the request), so settling with the real usage corrects
//! those.

use serde_json::Value;

use super::{Encoding, count, encoding_for, image, json_tokens};

/// Framing tokens of each message (`<|start|>{role}\n…<|end|>`).
const TOKENS_PER_MESSAGE: u64 = 3;
/// A message with a `name` costs one token more.
const TOKENS_PER_NAME: u64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: u64 = 3;

/// Estimated prompt tokens of a chat-completions request body (the JSON
/// value), by OpenAI's published counting rule: per message 3 tokens +
/// content tokens (+1 for `name`), plus 3 for the reply priming; text parts
/// of array contents; tool/function definitions and tool calls counted as
/// their JSON text; images by OpenAI's tile rule.
pub fn estimate_prompt_tokens(model: &str, body: &serde_json::Value) -> u64 {
    let encoding = encoding_for(model);
    let mut total = 0u64;
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            total = total
                .saturating_add(TOKENS_PER_MESSAGE)
                .saturating_add(message_tokens(encoding, message));
        }
        total = total.saturating_add(REPLY_PRIMING);
    }
    for key in ["tools", "functions"] {
        if let Some(definitions) = body.get(key).filter(|v| !v.is_null()) {
            total = total.saturating_add(json_tokens(encoding, definitions));
        }
    }
    total
}

fn message_tokens(encoding: Encoding, message: &Value) -> u64 {
    let Some(fields) = message.as_object() else {
        return json_tokens(encoding, message);
    };
    let mut total = 0u64;
    for (key, value) in fields {
        let tokens = match value {
            _ if key == "content" => content_tokens(encoding, value),
            Value::Null => 0,
            Value::String(text) => count(encoding, text),
            // tool_calls, function_call, audio references: their JSON text.
            other => json_tokens(encoding, other),
        };
        total = total.saturating_add(tokens);
        if key == "name" {
            total = total.saturating_add(TOKENS_PER_NAME);
        }
    }
    total
}

fn content_tokens(encoding: Encoding, content: &Value) -> u64 {
    match content {
        Value::Null => 0,
        Value::String(text) => count(encoding, text),
        Value::Array(parts) => parts
            .iter()
            .map(|part| part_tokens(encoding, part))
            .fold(0, u64::saturating_add),
        other => json_tokens(encoding, other),
    }
}

fn part_tokens(encoding: Encoding, part: &Value) -> u64 {
    let text_of = |key: &str| part.get(key).and_then(Value::as_str).unwrap_or_default();
    match part.get("type").and_then(Value::as_str) {
        Some("text") => count(encoding, text_of("text")),
        Some("refusal") => count(encoding, text_of("refusal")),
        Some("image_url") => part.get("image_url").map_or(0, image::image_tokens),
        _ => match part {
            Value::String(text) => count(encoding, text),
            // input_audio, file and unknown parts: cost not knowable here.
            _ => 0,
        },
    }
}

/// [`estimate_prompt_tokens`] of a body as received (0 when it is not
/// JSON): the form a request's [`crate::notes::Prompt`] keeps.
pub fn estimate_body(model: &str, body: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(body)
        .map(|body| estimate_prompt_tokens(model, &body))
        .unwrap_or(0)
}
