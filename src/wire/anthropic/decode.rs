//! An Anthropic `message` answer read as a `chat.completion`.
//!
//! Text blocks are joined into `content` (`null` when there are none);
//! `thinking` blocks become `reasoning_content` and their signature
//! `reasoning_signature` (the exchange has room for one: with several
//! thinking blocks the last signature is kept); `redacted_thinking` is
//! encrypted and has no text to show, so it is left out; `tool_use`
//! blocks become `tool_calls` with their input as a JSON string. Other
//! block types (server tool results, citations) have no counterpart and
//! are skipped.

use serde_json::{Map, Value, json};

use super::finish_reason;
use super::usage::{chat_usage, usage_from_value};

/// The `chat.completion` for an Anthropic `message`; `model` names it when
/// the message does not.
pub fn to_chat_completion(message: &Value, model: &str, created: i64) -> Value {
    let blocks = message.get("content").and_then(Value::as_array);
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut signature: Option<&str> = None;
    let mut tool_calls = Vec::new();
    for block in blocks.into_iter().flatten() {
        let str_field = |name: &str| block.get(name).and_then(Value::as_str);
        match str_field("type") {
            Some("text") => push(&mut text, str_field("text")),
            Some("thinking") => {
                push(&mut reasoning, str_field("thinking"));
                signature = str_field("signature").or(signature);
            }
            Some("tool_use") => tool_calls.push(tool_call(block)),
            _ => {}
        }
    }
    let mut reply = Map::new();
    reply.insert("role".into(), json!("assistant"));
    reply.insert("content".into(), json!(text));
    if let Some(reasoning) = reasoning {
        reply.insert("reasoning_content".into(), json!(reasoning));
    }
    if let Some(signature) = signature {
        reply.insert("reasoning_signature".into(), json!(signature));
    }
    if !tool_calls.is_empty() {
        reply.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    let stop_reason = message.get("stop_reason").and_then(Value::as_str);
    let mut completion = json!({
        "id": message.get("id").and_then(Value::as_str).unwrap_or("msg"),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model").and_then(Value::as_str).unwrap_or(model),
        "choices": [{
            "index": 0,
            "message": reply,
            "finish_reason": finish_reason(stop_reason),
        }],
    });
    if let Some(usage) = message.get("usage").and_then(usage_from_value) {
        completion["usage"] = chat_usage(&usage);
    }
    completion
}

fn push(into: &mut Option<String>, piece: Option<&str>) {
    if let Some(piece) = piece {
        into.get_or_insert_with(String::new).push_str(piece);
    }
}

/// A `tool_use` block as a chat tool call.
fn tool_call(block: &Value) -> Value {
    let arguments = block
        .get("input")
        .map_or_else(|| "{}".to_string(), Value::to_string);
    json!({
        "id": block.get("id").and_then(Value::as_str).unwrap_or_default(),
        "type": "function",
        "function": {
            "name": block.get("name").and_then(Value::as_str).unwrap_or_default(),
            "arguments": arguments,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_answer() {
        let message = json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message",
            "role": "assistant", "content": [{"type": "text", "text": "Hello!"}],
            "model": "claude-opus-4-6", "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 6}});
        assert_eq!(
            to_chat_completion(&message, "asked", 7),
            json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "object": "chat.completion",
                "created": 7, "model": "claude-opus-4-6",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                    "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18,
                    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0,
                        "cache_write_1h_tokens": 0}}})
        );
    }

    #[test]
    fn thinking_and_tool_use() {
        // From Anthropic's extended-thinking and tool-use docs.
        let message = json!({"id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "Let me analyze this step by step...",
                 "signature": "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL...."},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB9URj2pLmN3kF8/dW5hR7xJ0aP1oLs9yTcMnKVf2wRpEGjH9XZaBt4UvDcPrQ..."},
                {"type": "text", "text": "I'll check the weather."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "San Francisco, CA", "unit": "celsius"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 30, "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 20, "output_tokens": 40,
                "cache_creation": {"ephemeral_5m_input_tokens": 15, "ephemeral_1h_input_tokens": 5}}});
        let completion = to_chat_completion(&message, "asked", 1);
        let choice = &completion["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let reply = &choice["message"];
        assert_eq!(reply["content"], "I'll check the weather.");
        assert_eq!(
            reply["reasoning_content"],
            "Let me analyze this step by step..."
        );
        assert!(
            reply["reasoning_signature"]
                .as_str()
                .unwrap()
                .starts_with("WaUjzkyp")
        );
        assert_eq!(
            reply["tool_calls"],
            json!([{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                "function": {"name": "get_weather",
                    "arguments": "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"}}])
        );
        assert_eq!(
            completion["usage"],
            json!({"prompt_tokens": 150, "completion_tokens": 40, "total_tokens": 190,
                "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 15,
                    "cache_write_1h_tokens": 5}})
        );
    }

    #[test]
    fn stop_reasons_and_an_empty_answer() {
        for (reason, finish) in [
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("model_context_window_exceeded", "length"),
            ("refusal", "content_filter"),
            ("pause_turn", "stop"),
        ] {
            let message = json!({"type": "message", "content": [], "stop_reason": reason});
            let completion = to_chat_completion(&message, "asked", 1);
            assert_eq!(completion["choices"][0]["finish_reason"], finish);
            assert_eq!(completion["choices"][0]["message"]["content"], Value::Null);
            assert_eq!(completion["model"], "asked");
            assert!(completion.get("usage").is_none());
        }
    }
}
