//! A stream in the exchange's form (`chat.completion.chunk` events) as a
//! Responses event stream, event by event ([`ToResponsesStream`]).
//!
//! The first chunk opens the response (`response.created`,
//! `response.in_progress`); each run of deltas of one kind is an output
//! item, announced (`output_item.added`, and its part) before its first
//! delta and closed (`.done` events, `output_item.done`) when another kind
//! begins or the choice finishes: thinking a `reasoning` item with one
//! summary part, text a `message` with one `output_text` part, each tool
//! call a `function_call`. `[DONE]` (or the end of the input) sends the
//! final event, `response.completed` — `response.incomplete` for
//! `finish_reason` `length` or `content_filter`, or a stream that ended
//! without a finish reason — with the whole response and the usage chunk's
//! usage. A chat error event becomes an `error` event and ends the stream.
//!
//! Only the first choice is read (a Responses answer has one). Tool-call
//! fragments are expected call after call, as every chat server sends
//! them; a fragment for a call already closed is dropped. A refusal is
//! streamed as text.

use serde_json::{Map, Value, json};

use super::render::{Echo, Ids, shell};
use crate::stream::sse::{EventBuffer, event_data};
use crate::stream::transcode::Transcoder;
use crate::wire::responses::EventWriter;

/// Largest chat event kept while waiting for its end.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Chat chunks in, Responses events out.
pub struct ToResponsesStream {
    input: EventBuffer,
    events: EventWriter,
    echo: Echo,
    model: String,
    /// The response's ids and opening state, once the first chunk came.
    opened: Option<(Ids, Map<String, Value>)>,
    output: Vec<Value>,
    open: Option<OpenItem>,
    /// Chat tool-call indexes whose items are closed.
    closed_calls: Vec<u64>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    ended: bool,
}

/// The output item being streamed.
enum OpenItem {
    Reasoning {
        text: String,
        signature: Option<String>,
        /// Whether its summary part was announced (at its first text).
        part: bool,
    },
    Message {
        text: String,
    },
    Call {
        chat_index: u64,
        call_id: String,
        name: String,
        arguments: String,
    },
}

impl ToResponsesStream {
    /// A transcoder for a response to a request that `echo` repeats, answered
    /// by `model` (when the chunks do not name it).
    pub fn new(echo: Echo, model: &str) -> Self {
        Self {
            input: EventBuffer::new(MAX_EVENT_BYTES),
            events: EventWriter::new(),
            echo,
            model: model.to_string(),
            opened: None,
            output: Vec::new(),
            open: None,
            closed_calls: Vec::new(),
            finish_reason: None,
            usage: None,
            ended: false,
        }
    }

    fn event(&mut self, event: &[u8]) {
        if self.ended {
            return;
        }
        let Some(data) = event_data(event) else {
            return;
        };
        if data.trim() == "[DONE]" {
            return self.end();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            return;
        };
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            return self.error(error);
        }
        self.open_response(&chunk);
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        if let Some(delta) = choice.get("delta") {
            self.delta(delta);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
            self.close_item();
        }
    }

    /// `response.created` and `response.in_progress`, at the first chunk.
    fn open_response(&mut self, chunk: &Value) {
        if self.opened.is_some() {
            return;
        }
        let ids = Ids::from_chat_id(chunk.get("id").and_then(Value::as_str));
        let created = chunk.get("created").and_then(Value::as_i64);
        let created = created.unwrap_or_else(|| chrono::Utc::now().timestamp());
        let model = chunk
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(&self.model);
        let response = shell(&self.echo, &ids, created, model);
        let opening = json!({"response": response});
        self.events.emit("response.created", opening.clone());
        self.events.emit("response.in_progress", opening);
        self.opened = Some((ids, response));
    }

    fn delta(&mut self, delta: &Value) {
        let text = |field: &str| delta.get(field).and_then(Value::as_str).unwrap_or_default();
        let reasoning = text("reasoning_content");
        if !reasoning.is_empty() {
            self.reasoning_text(reasoning);
        }
        let signature = delta.get("reasoning_signature").and_then(Value::as_str);
        if let Some(signature) = signature {
            self.reasoning_signature(signature);
        }
        for field in ["content", "refusal"] {
            if !text(field).is_empty() {
                self.message_text(text(field));
            }
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            self.tool_call(call);
        }
    }

    fn place(&self) -> (String, usize) {
        let index = self.output.len();
        let prefix = match self.open {
            Some(OpenItem::Reasoning { .. }) => "rs",
            Some(OpenItem::Message { .. }) => "msg",
            Some(OpenItem::Call { .. }) | None => "fc",
        };
        let id = self.opened.as_ref().map(|(ids, _)| ids.item(prefix, index));
        (id.unwrap_or_default(), index)
    }
}

impl Transcoder for ToResponsesStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        for event in self.input.push(chunk) {
            self.event(&event);
        }
        self.events.take().into_bytes()
    }

    fn finish(&mut self) -> Vec<u8> {
        if let Some(event) = self.input.finish() {
            self.event(&event);
        }
        self.end();
        self.events.take().into_bytes()
    }
}

mod items;
#[cfg(test)]
mod tests;
