//! Anthropic Messages as the mock speaks it (`POST …/messages` and
//! `POST …/messages/count_tokens`): the builders tests script answers
//! with, the event stream of a whole message, errors, and the default
//! replies (a text message, or its stream: the opening events in one chunk,
//! each text delta in its own, the closing events in one, so a stream's
//! first text arrives after as many pauses as the chat mock's).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{MockOptions, Reply};

/// The usage of a default answer.
fn usage(input: u64, output: u64) -> Value {
    json!({"input_tokens": input, "output_tokens": output,
           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

/// A `message` with these content blocks.
pub fn anthropic_message(model: &str, blocks: Value, stop_reason: &str, usage: Value) -> Value {
    json!({
        "id": "msg_mock01", "type": "message", "role": "assistant", "model": model,
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": null, "usage": usage,
    })
}

/// A message saying `text`.
pub fn anthropic_text(model: &str, text: &str) -> Value {
    anthropic_message(
        model,
        json!([{"type": "text", "text": text}]),
        "end_turn",
        usage(5, 3),
    )
}

/// A message that calls one tool.
pub fn anthropic_tool_use(model: &str, id: &str, name: &str, input: Value) -> Value {
    let blocks = json!([
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": id, "name": name, "input": input},
    ]);
    anthropic_message(model, blocks, "tool_use", usage(12, 9))
}

/// A message that thinks (with its signature), then says `text`.
pub fn anthropic_thinking(model: &str, thinking: &str, signature: &str, text: &str) -> Value {
    let blocks = json!([
        {"type": "thinking", "thinking": thinking, "signature": signature},
        {"type": "text", "text": text},
    ]);
    anthropic_message(model, blocks, "end_turn", usage(20, 15))
}

/// One named event.
pub fn anthropic_event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// A whole message as its stream, one event per string: text in pieces of
/// a word, tool input in two `input_json_delta`s, thinking then its
/// signature; a ping after `message_start`.
pub fn anthropic_events(message: &Value) -> Vec<String> {
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    let mut events = vec![
        anthropic_event(
            "message_start",
            &json!({"type": "message_start", "message": start}),
        ),
        anthropic_event("ping", &json!({"type": "ping"})),
    ];
    let blocks = message["content"].as_array().cloned().unwrap_or_default();
    for (index, block) in blocks.iter().enumerate() {
        events.extend(block_events(index, block));
    }
    events.push(anthropic_event(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": null},
                "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
    ));
    events.push(anthropic_event(
        "message_stop",
        &json!({"type": "message_stop"}),
    ));
    events
}

fn block_events(index: usize, block: &Value) -> Vec<String> {
    let delta = |delta: Value| {
        anthropic_event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let (opened, deltas) = match block["type"].as_str() {
        Some("text") => {
            let text = block["text"].as_str().unwrap_or_default();
            let pieces = text.split_inclusive(' ');
            let deltas = pieces.map(|p| delta(json!({"type": "text_delta", "text": p})));
            (json!({"type": "text", "text": ""}), deltas.collect())
        }
        Some("thinking") => (
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            vec![
                delta(json!({"type": "thinking_delta", "thinking": block["thinking"]})),
                delta(json!({"type": "signature_delta", "signature": block["signature"]})),
            ],
        ),
        Some("tool_use") => {
            let input = block["input"].to_string();
            let (first, second) = input.split_at(input.len() / 2);
            let mut opened = block.clone();
            opened["input"] = json!({});
            let deltas = [first, second]
                .map(|part| delta(json!({"type": "input_json_delta", "partial_json": part})));
            (opened, deltas.to_vec())
        }
        _ => (block.clone(), Vec::new()),
    };
    let mut events = vec![anthropic_event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": index, "content_block": opened}),
    )];
    events.extend(deltas);
    events.push(anthropic_event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": index}),
    ));
    events
}

/// An error answer in Anthropic's shape (`529` is `overloaded_error`).
pub fn anthropic_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::Json(
        StatusCode::from_u16(status).unwrap(),
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

/// The answer when nothing is scripted: "Hello from the mock", or a stream
/// of `stream_chunks` pieces `tok0 `, `tok1 `, ….
pub fn default_reply(options: &MockOptions, request: &Value) -> Reply {
    let model = request["model"].as_str().unwrap_or("mock");
    if request["stream"] != Value::Bool(true) {
        return Reply::Json(StatusCode::OK, anthropic_text(model, "Hello from the mock"));
    }
    let text: String = (0..options.stream_chunks)
        .map(|i| format!("tok{i} "))
        .collect();
    let mut message = anthropic_text(model, &text);
    message["usage"]["output_tokens"] = json!(options.stream_chunks);
    let events = anthropic_events(&message);
    // message_start, ping, content_block_start | each delta | the rest.
    let (opening, rest) = events.split_at(3);
    let (deltas, closing) = rest.split_at(options.stream_chunks);
    let mut chunks = vec![opening.concat()];
    chunks.extend(deltas.iter().cloned());
    chunks.push(closing.concat());
    Reply::Sse(chunks)
}

/// `count_tokens`: a quarter of the request's characters, at least 1.
pub fn count_tokens_reply(_options: &MockOptions, request: &Value) -> Reply {
    let tokens = (request.to_string().len() / 4).max(1);
    Reply::Json(StatusCode::OK, json!({"input_tokens": tokens}))
}
