//! The two forms of an Anthropic Messages answer converted into each
//! other, so a streamed and a non-streamed request share one stored entry:
//!
//! - [`events_to_message`]: a whole event stream assembled into the
//!   `message` it describes — blocks in index order, text, thinking and
//!   signature deltas concatenated, a tool's `input` parsed from its
//!   concatenated `partial_json`, the stop reason, and usage merged across
//!   `message_start` and every `message_delta`.
//! - [`message_to_events`]: a `message` as the exact event sequence the API
//!   streams (`message_start`, per block start / deltas / stop,
//!   `message_delta`, `message_stop`).
//!
//! Usage counts in a stream are cumulative snapshots, and some gateways
//! send `input_tokens: 0` in one event and the real count in another, so
//! merging keeps the largest value of each count rather than the last.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::stream::sse::payloads;

/// A whole Anthropic SSE answer as the `message` JSON it streams.
pub fn events_to_message(sse: &[u8]) -> Value {
    let mut message = Map::new();
    let mut blocks: BTreeMap<u64, Value> = BTreeMap::new();
    let mut tool_json: BTreeMap<u64, String> = BTreeMap::new();
    for data in payloads(sse) {
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => start_message(&mut message, &event),
            "content_block_start" => {
                let block = event.get("content_block").cloned().unwrap_or(json!({}));
                blocks.insert(index, block);
            }
            "content_block_delta" => {
                if let (Some(block), Some(delta)) = (blocks.get_mut(&index), event.get("delta")) {
                    apply_delta(block, delta, tool_json.entry(index).or_default());
                }
            }
            "content_block_stop" => {
                if let (Some(block), Some(text)) =
                    (blocks.get_mut(&index), tool_json.remove(&index))
                {
                    set_tool_input(block, &text);
                }
            }
            "message_delta" => apply_message_delta(&mut message, &event),
            _ => {}
        }
    }
    // A block whose stop never came still gets its input.
    for (index, text) in tool_json {
        if let Some(block) = blocks.get_mut(&index) {
            set_tool_input(block, &text);
        }
    }
    message.insert(
        "content".into(),
        Value::Array(blocks.into_values().collect()),
    );
    Value::Object(message)
}

/// `message_start`: the message's head (its content comes block by block).
fn start_message(message: &mut Map<String, Value>, event: &Value) {
    if let Some(Value::Object(head)) = event.get("message") {
        for (field, value) in head {
            match field.as_str() {
                "usage" => merge_usage(message, value),
                _ => {
                    message.insert(field.clone(), value.clone());
                }
            }
        }
    }
}

/// `message_delta`: the stop reason and sequence, and more usage.
fn apply_message_delta(message: &mut Map<String, Value>, event: &Value) {
    if let Some(Value::Object(delta)) = event.get("delta") {
        for (field, value) in delta {
            message.insert(field.clone(), value.clone());
        }
    }
    if let Some(usage) = event.get("usage") {
        merge_usage(message, usage);
    }
}

/// Usage snapshots merged: each count the largest seen, objects merged
/// the same way, other values the last non-null.
fn merge_usage(message: &mut Map<String, Value>, usage: &Value) {
    let target = message.entry("usage").or_insert_with(|| json!({}));
    merge_max(target, usage);
}

fn merge_max(target: &mut Value, more: &Value) {
    let (Some(target), Some(more)) = (target.as_object_mut(), more.as_object()) else {
        return;
    };
    for (field, value) in more {
        match (target.get_mut(field), value) {
            (_, Value::Null) => {}
            (Some(existing @ Value::Object(_)), Value::Object(_)) => merge_max(existing, value),
            (Some(existing), Value::Number(n)) => {
                let bigger = match (existing.as_u64(), n.as_u64()) {
                    (Some(old), Some(new)) => new >= old,
                    _ => true,
                };
                if bigger {
                    *existing = value.clone();
                }
            }
            _ => {
                target.insert(field.clone(), value.clone());
            }
        }
    }
}

/// One `content_block_delta` applied to its block; a tool's partial JSON
/// gathered in `tool_json` until the block stops.
fn apply_delta(block: &mut Value, delta: &Value, tool_json: &mut String) {
    let kind = delta.get("type").and_then(Value::as_str).unwrap_or("");
    let piece = |field: &str| delta.get(field).and_then(Value::as_str).unwrap_or("");
    match kind {
        "text_delta" => append(block, "text", piece("text")),
        "thinking_delta" => append(block, "thinking", piece("thinking")),
        "signature_delta" => append(block, "signature", piece("signature")),
        "input_json_delta" => tool_json.push_str(piece("partial_json")),
        "citations_delta" => {
            if let (Some(object), Some(citation)) = (block.as_object_mut(), delta.get("citation")) {
                let citations = object.entry("citations").or_insert_with(|| json!([]));
                if let Some(list) = citations.as_array_mut() {
                    list.push(citation.clone());
                } else {
                    *citations = json!([citation]);
                }
            }
        }
        _ => {}
    }
}

fn append(block: &mut Value, field: &str, piece: &str) {
    let Some(object) = block.as_object_mut() else {
        return;
    };
    match object.get_mut(field) {
        Some(Value::String(existing)) => existing.push_str(piece),
        _ => {
            object.insert(field.into(), Value::String(piece.to_string()));
        }
    }
}

/// A tool block's `input` from its gathered partial JSON: none (or
/// nothing parseable) leaves the `input` it started with.
fn set_tool_input(block: &mut Value, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    if let (Some(object), Ok(input)) = (block.as_object_mut(), serde_json::from_str(text)) {
        object.insert("input".into(), input);
    }
}

/// A `message` as the events the API streams for it.
pub fn message_to_events(message: &Value) -> String {
    let mut out = String::new();
    let usage = message.get("usage").cloned().unwrap_or(json!({}));
    let mut head = message.as_object().cloned().unwrap_or_default();
    head.insert("content".into(), json!([]));
    head.insert("stop_reason".into(), Value::Null);
    head.insert("stop_sequence".into(), Value::Null);
    head.insert("usage".into(), start_usage(&usage));
    push_event(&mut out, json!({"type": "message_start", "message": head}));
    let blocks = message.get("content").and_then(Value::as_array);
    for (index, block) in blocks.into_iter().flatten().enumerate() {
        block_events(&mut out, index, block);
    }
    let delta = json!({
        "stop_reason": message.get("stop_reason").cloned().unwrap_or(Value::Null),
        "stop_sequence": message.get("stop_sequence").cloned().unwrap_or(Value::Null),
    });
    // SDK accumulators set `output_tokens` from here unguarded: it must
    // be present.
    let mut end_usage = usage.as_object().cloned().unwrap_or_default();
    end_usage.entry("output_tokens").or_insert_with(|| json!(0));
    push_event(
        &mut out,
        json!({"type": "message_delta", "delta": delta, "usage": end_usage}),
    );
    push_event(&mut out, json!({"type": "message_stop"}));
    out
}

/// `message_start`'s usage: the input counts, and the output so far (the
/// API reports 1 there; never more than the real count).
fn start_usage(usage: &Value) -> Value {
    let mut start = usage.as_object().cloned().unwrap_or_default();
    let output = usage
        .get("output_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    start.insert("output_tokens".into(), json!(output.min(1)));
    Value::Object(start)
}

/// One block's start, deltas and stop.
fn block_events(out: &mut String, index: usize, block: &Value) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let text = |field: &str| block.get(field).and_then(Value::as_str).unwrap_or("");
    let delta =
        |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
    let (start, deltas): (Value, Vec<Value>) = match kind {
        "text" => {
            let mut deltas = vec![delta(json!({"type": "text_delta", "text": text("text")}))];
            for citation in block
                .get("citations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                deltas.push(delta(
                    json!({"type": "citations_delta", "citation": citation}),
                ));
            }
            (json!({"type": "text", "text": ""}), deltas)
        }
        "thinking" => (
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            vec![
                delta(json!({"type": "thinking_delta", "thinking": text("thinking")})),
                delta(json!({"type": "signature_delta", "signature": text("signature")})),
            ],
        ),
        "tool_use" | "server_tool_use" => {
            let mut start = block.clone();
            if let Some(object) = start.as_object_mut() {
                object.insert("input".into(), json!({}));
            }
            let input = block.get("input").cloned().unwrap_or(json!({}));
            let partial = match &input {
                Value::Object(map) if map.is_empty() => String::new(),
                other => other.to_string(),
            };
            let deltas = vec![delta(
                json!({"type": "input_json_delta", "partial_json": partial}),
            )];
            (start, deltas)
        }
        // Blocks the API sends whole (redacted thinking, tool results).
        _ => (block.clone(), Vec::new()),
    };
    let start = json!({"type": "content_block_start", "index": index, "content_block": start});
    push_event(out, start);
    for delta in deltas {
        push_event(out, delta);
    }
    push_event(out, json!({"type": "content_block_stop", "index": index}));
}

/// `event: NAME\ndata: JSON\n\n`, the name being the data's `type`.
fn push_event(out: &mut String, data: Value) {
    let name = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
}

#[cfg(test)]
mod tests;
