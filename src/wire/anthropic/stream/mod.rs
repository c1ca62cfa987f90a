//! An Anthropic Messages event stream read as the exchange's
//! `chat.completion.chunk` stream, event by event: each chunk leaves as
//! soon as the Anthropic event it translates is whole.
//!
//! - `message_start` → a role chunk (`{role: assistant, content: ""}`);
//!   its id and model name every later chunk;
//! - `text_delta` → `content`, `thinking_delta` → `reasoning_content`,
//!   `signature_delta` → `reasoning_signature`;
//! - a `tool_use` block's start → a tool call with its id and name (index
//!   0, 1, … in the order the tool calls come, whatever the block index),
//!   each `input_json_delta` → that call's `arguments`;
//! - the first `message_delta` with a stop reason → the finish chunk;
//! - `message_stop` → a usage chunk (`choices: []`, cumulative from
//!   `message_start` and every `message_delta`) and `data: [DONE]`;
//! - `error` → `data: {"error":{…}}` in OpenAI's shape, and the end (no
//!   `[DONE]`: the answer failed);
//! - `ping`, `content_block_stop` and event types unknown here → nothing.
//!
//! A stream that ends without `message_stop` gets no `[DONE]`, so a client
//! can tell it was cut.

use serde_json::{Map, Value, json};

use super::finish_reason;
use super::usage::{chat_usage, merge, usage_from_value};
use crate::stream::sse::{EventBuffer, event_data, write_data_event};
use crate::stream::transcode::Transcoder;

/// Largest event kept while waiting for its end.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Anthropic SSE in, exchange SSE out.
#[derive(Debug)]
pub struct ToChatStream {
    events: EventBuffer,
    id: String,
    model: String,
    created: i64,
    /// Anthropic block index → tool call index, for each `tool_use` block.
    tool_blocks: Vec<(u64, usize)>,
    usage: Map<String, Value>,
    finished: bool,
    /// `[DONE]` or an error went out: nothing more is written.
    closed: bool,
}

impl ToChatStream {
    /// A transcoder naming chunks `model` (until the stream names its own)
    /// and `created`.
    pub fn new(model: &str, created: i64) -> Self {
        Self {
            events: EventBuffer::new(MAX_EVENT_BYTES),
            id: "msg".into(),
            model: model.into(),
            created,
            tool_blocks: Vec::new(),
            usage: Map::new(),
            finished: false,
            closed: false,
        }
    }

    fn event(&mut self, event: &[u8], out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        let Some(data) = event_data(event) else {
            return;
        };
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => self.message_start(&event, out),
            Some("content_block_start") => self.block_start(&event, out),
            Some("content_block_delta") => self.block_delta(&event, out),
            Some("message_delta") => self.message_delta(&event, out),
            Some("message_stop") => self.message_stop(out),
            Some("error") => self.error(&event, out),
            _ => {}
        }
    }

    fn message_start(&mut self, event: &Value, out: &mut Vec<u8>) {
        let message = event.get("message");
        let text = |name: &str| message.and_then(|m| m.get(name)).and_then(Value::as_str);
        if let Some(id) = text("id") {
            self.id = id.to_string();
        }
        if let Some(model) = text("model") {
            self.model = model.to_string();
        }
        if let Some(usage) = message.and_then(|m| m.get("usage")) {
            merge(&mut self.usage, usage);
        }
        self.delta(json!({"role": "assistant", "content": ""}), out);
    }

    fn block_start(&mut self, event: &Value, out: &mut Vec<u8>) {
        let block = event.get("content_block");
        let field = |name: &str| block.and_then(|b| b.get(name)).and_then(Value::as_str);
        if field("type") != Some("tool_use") {
            return;
        }
        let call = self.tool_blocks.len();
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        self.tool_blocks.push((index, call));
        let tool_call = json!({"index": call, "id": field("id").unwrap_or_default(),
            "type": "function",
            "function": {"name": field("name").unwrap_or_default(), "arguments": ""}});
        self.delta(json!({"tool_calls": [tool_call]}), out);
    }

    fn block_delta(&mut self, event: &Value, out: &mut Vec<u8>) {
        let Some(delta) = event.get("delta") else {
            return;
        };
        let text = |name: &str| delta.get(name).and_then(Value::as_str).unwrap_or_default();
        let delta = match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => json!({"content": text("text")}),
            Some("thinking_delta") => json!({"reasoning_content": text("thinking")}),
            Some("signature_delta") => json!({"reasoning_signature": text("signature")}),
            Some("input_json_delta") => {
                let index = event.get("index").and_then(Value::as_u64);
                let call = self.tool_blocks.iter().find(|(b, _)| Some(*b) == index);
                let (Some((_, call)), false) = (call, text("partial_json").is_empty()) else {
                    return;
                };
                json!({"tool_calls": [{"index": call,
                    "function": {"arguments": text("partial_json")}}]})
            }
            _ => return,
        };
        self.delta(delta, out);
    }

    fn message_delta(&mut self, event: &Value, out: &mut Vec<u8>) {
        if let Some(usage) = event.get("usage") {
            merge(&mut self.usage, usage);
        }
        let stop_reason = event.get("delta").and_then(|d| d.get("stop_reason"));
        if self.finished || stop_reason.is_none_or(Value::is_null) {
            return;
        }
        self.finished = true;
        let reason = finish_reason(stop_reason.and_then(Value::as_str));
        let choice = Choice {
            index: 0,
            delta: Value::Object(Map::new()),
            finish_reason: Some(reason),
        };
        self.chunk([choice], None, out);
    }

    fn message_stop(&mut self, out: &mut Vec<u8>) {
        if !self.usage.is_empty()
            && let Some(usage) = usage_from_value(&Value::Object(self.usage.clone()))
        {
            self.chunk(Vec::<Choice>::new(), Some(chat_usage(&usage)), out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.closed = true;
    }

    fn error(&mut self, event: &Value, out: &mut Vec<u8>) {
        let error = event.get("error");
        let field = |name: &str| error.and_then(|e| e.get(name)).and_then(Value::as_str);
        let kind = field("type").unwrap_or("api_error");
        let body = json!({"error": {
            "message": field("message").unwrap_or("the provider's stream failed"),
            "type": kind, "param": null, "code": kind}});
        write_data_event(out, &body);
        self.closed = true;
    }

    /// A chunk of one choice with `delta` and no finish reason.
    fn delta(&self, delta: Value, out: &mut Vec<u8>) {
        let choice = Choice {
            index: 0,
            delta,
            finish_reason: None,
        };
        self.chunk([choice], None, out);
    }

    fn chunk<C: serde::Serialize>(&self, choices: C, usage: Option<Value>, out: &mut Vec<u8>) {
        let chunk = ChatChunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        };
        write_data_event(out, &chunk);
    }
}

/// A `chat.completion.chunk`, written field by field in OpenAI's order
/// without building a map per event.
#[derive(serde::Serialize)]
struct ChatChunk<'a, C> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: C,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Value>,
}

#[derive(serde::Serialize)]
struct Choice {
    index: u32,
    delta: Value,
    finish_reason: Option<&'static str>,
}

impl Transcoder for ToChatStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for event in self.events.push(chunk) {
            self.event(&event, &mut out);
        }
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(event) = self.events.finish() {
            self.event(&event, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests;
