//! An exchange stream (`chat.completion.chunk` events) rendered as the
//! Messages event sequence, event by event: nothing is held back but the
//! unfinished end of an input event, so a first token leaves at once.
//!
//! - `message_start` at the first chunk (usage zeros: a chat stream
//!   reports usage only at its end; the real counts come in
//!   `message_delta`, which SDK accumulators read last);
//! - a block opens when the first delta of its kind arrives — thinking
//!   (`reasoning_content`), text (`content`, or a `refusal`), each tool
//!   call — and the open one is stopped first: one block open at a time,
//!   indices contiguous from 0. Empty text (the role chunk's `""`) opens
//!   nothing;
//! - a `reasoning_signature` becomes a `signature_delta` of the open
//!   thinking block (or of a new one, when thinking has already closed, so
//!   the signature is never lost);
//! - tool arguments become `input_json_delta`s. A tool call whose block
//!   was already stopped cannot reopen: later pieces of it are dropped
//!   (chat providers send each call's pieces together);
//! - at `[DONE]`, or a clean end without it: the open block stopped,
//!   `message_delta` with the stop reason and the cumulative usage, then
//!   `message_stop`;
//! - an `{"error": …}` event becomes an `error` event, and ends the stream.

use serde_json::{Value, json};

use super::render::{anthropic_usage, message_id, stop_reason, tool_use_id};
use crate::stream::sse::{EventBuffer, event_data};
use crate::stream::transcode::Transcoder;

/// The largest input event kept whole; a longer one is dropped.
const MAX_EVENT_BYTES: usize = 1 << 20;

/// The kind of the block that is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking,
    Text,
    /// A tool call, by its index in the chat stream.
    Tool(u64),
}

/// Exchange chunks → Messages events.
pub struct ToMessagesStream {
    events: EventBuffer,
    model: String,
    started: bool,
    ended: bool,
    open: Option<Open>,
    /// The index the next block gets.
    next_index: u64,
    /// Tool calls whose block has been stopped.
    closed_tools: Vec<u64>,
    finish_reason: Option<String>,
    usage: Value,
}

impl ToMessagesStream {
    /// A renderer for an answer from `model`.
    pub fn new(model: &str) -> Self {
        Self {
            events: EventBuffer::new(MAX_EVENT_BYTES),
            model: model.to_string(),
            started: false,
            ended: false,
            open: None,
            next_index: 0,
            closed_tools: Vec::new(),
            finish_reason: None,
            usage: Value::Null,
        }
    }

    /// One whole input event.
    fn event(&mut self, event: &[u8], out: &mut String) {
        if self.ended {
            return;
        }
        let Some(data) = event_data(event) else {
            return;
        };
        if data.trim() == "[DONE]" {
            return self.end(out);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            return;
        };
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            return self.error(error, out);
        }
        if !self.started {
            self.start(&chunk, out);
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = usage.clone();
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        let first = choices
            .into_iter()
            .flatten()
            .find(|choice| choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0);
        if let Some(choice) = first {
            if let Some(delta) = choice.get("delta") {
                self.delta(delta, out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_string());
            }
        }
    }

    fn start(&mut self, chunk: &Value, out: &mut String) {
        self.started = true;
        let message = json!({
            "id": message_id(chunk.get("id").and_then(Value::as_str)),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": anthropic_usage(chunk.get("usage").unwrap_or(&Value::Null)),
        });
        push_event(out, json!({"type": "message_start", "message": message}));
    }

    /// One choice's delta: thinking, its signature, text, tool calls.
    fn delta(&mut self, delta: &Value, out: &mut String) {
        let text = |field: &str| {
            delta
                .get(field)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        if let Some(thinking) = text("reasoning_content") {
            let index = self.open_block(Open::Thinking, json!({}), out);
            push_delta(
                out,
                index,
                json!({"type": "thinking_delta", "thinking": thinking}),
            );
        }
        if let Some(signature) = text("reasoning_signature") {
            let index = self.open_block(Open::Thinking, json!({}), out);
            push_delta(
                out,
                index,
                json!({"type": "signature_delta", "signature": signature}),
            );
        }
        for field in ["content", "refusal"] {
            if let Some(piece) = text(field) {
                let index = self.open_block(Open::Text, json!({}), out);
                push_delta(out, index, json!({"type": "text_delta", "text": piece}));
            }
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            self.tool_delta(call, out);
        }
    }

    fn tool_delta(&mut self, call: &Value, out: &mut String) {
        let position = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let function = call.get("function").unwrap_or(&Value::Null);
        let index = match self.open {
            Some(Open::Tool(open)) if open == position => self.next_index.saturating_sub(1),
            _ if self.closed_tools.contains(&position) => return,
            _ => {
                let start = json!({
                    "type": "tool_use",
                    "id": tool_use_id(call.get("id").and_then(Value::as_str), position as usize),
                    "name": function.get("name").and_then(Value::as_str).unwrap_or(""),
                    "input": {},
                });
                self.open_block(Open::Tool(position), start, out)
            }
        };
        let arguments = function.get("arguments").and_then(Value::as_str);
        if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
            let delta = json!({"type": "input_json_delta", "partial_json": arguments});
            push_delta(out, index, delta);
        }
    }

    /// The index of an open block of `kind`, opening it (with `tool_start`
    /// for a tool) after stopping another.
    fn open_block(&mut self, kind: Open, tool_start: Value, out: &mut String) -> u64 {
        if self.open == Some(kind) {
            return self.next_index.saturating_sub(1);
        }
        self.close_block(out);
        let block = match kind {
            Open::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Open::Text => json!({"type": "text", "text": ""}),
            Open::Tool(_) => tool_start,
        };
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(kind);
        let start = json!({"type": "content_block_start", "index": index, "content_block": block});
        push_event(out, start);
        index
    }

    fn close_block(&mut self, out: &mut String) {
        if let Some(open) = self.open.take() {
            if let Open::Tool(position) = open {
                self.closed_tools.push(position);
            }
            let index = self.next_index.saturating_sub(1);
            push_event(out, json!({"type": "content_block_stop", "index": index}));
        }
    }

    /// The closing events.
    fn end(&mut self, out: &mut String) {
        if !self.started {
            self.start(&Value::Null, out);
        }
        self.close_block(out);
        let delta = json!({
            "stop_reason": stop_reason(self.finish_reason.as_deref()),
            "stop_sequence": null,
        });
        let usage = anthropic_usage(&self.usage);
        push_event(
            out,
            json!({"type": "message_delta", "delta": delta, "usage": usage}),
        );
        push_event(out, json!({"type": "message_stop"}));
        self.ended = true;
    }

    fn error(&mut self, error: &Value, out: &mut String) {
        let message = match error.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => error.to_string(),
        };
        let event = json!({"type": "error", "error": {"type": "api_error", "message": message}});
        push_event(out, event);
        self.ended = true;
    }
}

impl Transcoder for ToMessagesStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for event in self.events.push(chunk) {
            self.event(&event, &mut out);
        }
        out.into_bytes()
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = String::new();
        if let Some(event) = self.events.finish() {
            self.event(&event, &mut out);
        }
        if self.started && !self.ended {
            self.end(&mut out);
        }
        out.into_bytes()
    }
}

fn push_delta(out: &mut String, index: u64, delta: Value) {
    push_event(
        out,
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    );
}

/// `event: NAME\ndata: JSON\n\n`, the name being the data's `type`.
fn push_event(out: &mut String, data: Value) {
    let name = data.get("type").and_then(Value::as_str).unwrap_or("");
    out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
}

#[cfg(test)]
mod tests;
