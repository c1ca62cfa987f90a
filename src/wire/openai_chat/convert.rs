//! Turning one stored form into the other, so a streamed and a non-streamed
//! request for the same thing share one entry.
//!
//! - [`completion_to_chunks`]: a `chat.completion` as `chat.completion.chunk`
//!   events (role, content, reasoning, tool calls, finish reason, then, when
//!   the client asked with `stream_options.include_usage`, a usage chunk with
//!   empty `choices`, as OpenAI sends it), ending with `data: [DONE]`.
//! - [`chunks_to_completion`]: a stream assembled into one `chat.completion`:
//!   content and reasoning concatenated, tool-call deltas merged by index,
//!   the last finish reason, the usage.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::stream::sse::payloads;

/// Fields a completion and each of its chunks share.
const SHARED_FIELDS: [&str; 5] = [
    "id",
    "created",
    "model",
    "system_fingerprint",
    "service_tier",
];

/// SSE text for a stored `chat.completion`.
pub fn completion_to_chunks(completion: &Value, include_usage: bool) -> String {
    let mut chunks = ChunkWriter::new(completion);
    let choices = completion
        .get("choices")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (position, choice) in choices.iter().enumerate() {
        chunks.choice(position, choice);
    }
    if let Some(usage) = completion
        .get("usage")
        .filter(|u| !u.is_null() && include_usage)
    {
        chunks.push(json!([]), Some(usage));
    }
    chunks.out += "data: [DONE]\n\n";
    chunks.out
}

/// `chat.completion.chunk` events being written, each with the
/// completion's [`SHARED_FIELDS`].
struct ChunkWriter {
    head: Map<String, Value>,
    out: String,
}

impl ChunkWriter {
    fn new(completion: &Value) -> Self {
        let mut head = Map::new();
        for field in SHARED_FIELDS {
            if let Some(value) = completion.get(field).filter(|v| !v.is_null()) {
                head.insert(field.to_string(), value.clone());
            }
        }
        head.insert("object".into(), json!("chat.completion.chunk"));
        Self {
            head,
            out: String::new(),
        }
    }

    /// One event with these `choices` (and `usage`, for the last).
    fn push(&mut self, choices: Value, usage: Option<&Value>) {
        let mut chunk = self.head.clone();
        chunk.insert("choices".into(), choices);
        if let Some(usage) = usage {
            chunk.insert("usage".into(), usage.clone());
        }
        self.out += &format!("data: {}\n\n", Value::Object(chunk));
    }

    /// One choice's events: its role, each non-empty text field, its tool
    /// calls, then its finish reason.
    fn choice(&mut self, position: usize, choice: &Value) {
        let index = choice.get("index").cloned().unwrap_or(json!(position));
        let message = choice.get("message").cloned().unwrap_or(json!({}));
        let role = message.get("role").cloned().unwrap_or(json!("assistant"));
        self.push(
            json!([{"index": index, "delta": {"role": role, "content": ""}, "finish_reason": null}]),
            None,
        );
        for field in [
            "reasoning_content",
            "reasoning_signature",
            "content",
            "refusal",
        ] {
            if let Some(text) = message
                .get(field)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                self.push(
                    json!([{"index": index, "delta": {field: text}, "finish_reason": null}]),
                    None,
                );
            }
        }
        if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
            let deltas = tool_call_deltas(calls);
            self.push(
                json!([{"index": index, "delta": {"tool_calls": deltas}, "finish_reason": null}]),
                None,
            );
        }
        let finish = choice
            .get("finish_reason")
            .cloned()
            .unwrap_or(json!("stop"));
        self.push(
            json!([{"index": index, "delta": {}, "finish_reason": finish}]),
            None,
        );
    }
}

/// A message's tool calls as one delta: each call whole, with the `index`
/// a stream's deltas are merged by.
fn tool_call_deltas(calls: &[Value]) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let mut delta = call.clone();
            if let Some(object) = delta.as_object_mut() {
                object.insert("index".into(), json!(i));
            }
            delta
        })
        .collect()
}

/// One choice being assembled.
#[derive(Default)]
struct ChoiceParts {
    role: Option<Value>,
    content: Option<String>,
    reasoning: Option<String>,
    /// llm-bridge's `reasoning_signature` (an Anthropic thinking
    /// signature), kept so a stream assembled keeps it.
    signature: Option<String>,
    refusal: Option<String>,
    tool_calls: BTreeMap<u64, Map<String, Value>>,
    finish_reason: Option<Value>,
}

/// A `chat.completion` assembled from stored SSE text.
pub fn chunks_to_completion(sse: &[u8]) -> Value {
    let mut head = Map::new();
    let mut choices: BTreeMap<u64, ChoiceParts> = BTreeMap::new();
    let mut usage = None;
    for data in payloads(sse) {
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        for field in SHARED_FIELDS {
            if let Some(value) = chunk.get(field).filter(|v| !v.is_null()) {
                head.entry(field.to_string())
                    .or_insert_with(|| value.clone());
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            usage = Some(u.clone());
        }
        for choice in items(&chunk, "choices") {
            merge_delta(choices.entry(index_of(choice)).or_default(), choice);
        }
    }
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|(index, parts)| assemble(index, parts))
        .collect();
    let mut completion = head;
    completion.insert("object".into(), json!("chat.completion"));
    completion.insert("choices".into(), Value::Array(choices));
    completion.insert("usage".into(), usage.unwrap_or(Value::Null));
    Value::Object(completion)
}

/// The elements of an array field (none when absent or not an array).
fn items<'a>(value: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A choice's or tool call's `index` (0 when missing).
fn index_of(value: &Value) -> u64 {
    value.get("index").and_then(Value::as_u64).unwrap_or(0)
}

fn append(target: &mut Option<String>, piece: Option<&Value>) {
    if let Some(text) = piece.and_then(Value::as_str) {
        target.get_or_insert_with(String::new).push_str(text);
    }
}

fn merge_delta(parts: &mut ChoiceParts, choice: &Value) {
    if let Some(reason) = choice.get("finish_reason").filter(|f| !f.is_null()) {
        parts.finish_reason = Some(reason.clone());
    }
    let Some(delta) = choice.get("delta") else {
        return;
    };
    if let Some(role) = delta.get("role").filter(|r| !r.is_null()) {
        parts.role = Some(role.clone());
    }
    append(&mut parts.content, delta.get("content"));
    append(&mut parts.reasoning, delta.get("reasoning_content"));
    append(&mut parts.signature, delta.get("reasoning_signature"));
    append(&mut parts.refusal, delta.get("refusal"));
    for call in items(delta, "tool_calls") {
        let merged = parts.tool_calls.entry(index_of(call)).or_default();
        for (field, value) in call.as_object().into_iter().flatten() {
            match (field.as_str(), value) {
                ("index", _) | (_, Value::Null) => {}
                ("function", Value::Object(function)) => {
                    let target = merged
                        .entry("function")
                        .or_insert_with(|| json!({}))
                        .as_object_mut();
                    if let Some(target) = target {
                        for (name, piece) in function {
                            match (target.get_mut(name), piece) {
                                (Some(Value::String(existing)), Value::String(more)) => {
                                    existing.push_str(more)
                                }
                                _ => {
                                    target.insert(name.clone(), piece.clone());
                                }
                            }
                        }
                    }
                }
                _ => {
                    merged.insert(field.clone(), value.clone());
                }
            }
        }
    }
}

fn assemble(index: u64, parts: ChoiceParts) -> Value {
    let mut message = Map::new();
    message.insert("role".into(), parts.role.unwrap_or(json!("assistant")));
    message.insert(
        "content".into(),
        parts.content.map_or(Value::Null, Value::String),
    );
    if let Some(reasoning) = parts.reasoning {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    if let Some(signature) = parts.signature {
        message.insert("reasoning_signature".into(), Value::String(signature));
    }
    if let Some(refusal) = parts.refusal {
        message.insert("refusal".into(), Value::String(refusal));
    }
    if !parts.tool_calls.is_empty() {
        let calls: Vec<Value> = parts.tool_calls.into_values().map(Value::Object).collect();
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    json!({
        "index": index,
        "message": Value::Object(message),
        "logprobs": null,
        "finish_reason": parts.finish_reason.unwrap_or(json!("stop")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BodyKind;
    use crate::wire::openai_chat::check;

    fn tool_completion() -> Value {
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "gpt-4.1",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.",
                "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}}
                ]}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
        })
    }

    #[test]
    fn a_completion_round_trips_through_chunks() {
        let completion = tool_completion();
        let sse = completion_to_chunks(&completion, true);
        assert!(sse.ends_with("data: [DONE]\n\n"));
        assert!(check(BodyKind::Sse, sse.as_bytes()).is_ok());
        let back = chunks_to_completion(sse.as_bytes());
        assert_eq!(
            back["choices"][0]["message"],
            completion["choices"][0]["message"]
        );
        assert_eq!(back["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(back["usage"], completion["usage"]);
        assert_eq!(back["id"], "chatcmpl-1");
        assert_eq!(back["object"], "chat.completion");
    }

    #[test]
    fn usage_chunks_only_for_clients_that_ask() {
        let completion = tool_completion();
        let plain = completion_to_chunks(&completion, false);
        assert!(!plain.contains("\"usage\""));
        let with_usage = completion_to_chunks(&completion, true);
        assert!(with_usage.contains("\"usage\""));
        assert!(with_usage.starts_with(&plain[..plain.len() - "data: [DONE]\n\n".len()]));
    }

    #[test]
    fn tool_call_deltas_merge_by_index() {
        let events = [
            json!({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}),
            json!({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}]}),
            json!({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"f2","arguments":"{}"}}]}}]}),
            json!({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Oslo\"}"}}]}}]}),
            json!({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}),
        ];
        let sse: String = events
            .iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect::<String>()
            + "data: [DONE]\n\n";
        let completion = chunks_to_completion(sse.as_bytes());
        let calls = &completion["choices"][0]["message"]["tool_calls"];
        assert_eq!(calls[0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
        assert_eq!(calls[0]["id"], "call_1");
        assert_eq!(calls[1]["function"]["name"], "f2");
        assert_eq!(completion["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    }
}
