//! A Gemini event stream (`data: {GenerateContentResponse}` frames, no
//! `[DONE]`) as the exchange's `chat.completion.chunk` events, event by
//! event: a role chunk first for each candidate, then a chunk per text,
//! thinking or signature piece, each function call as one whole
//! `tool_calls` delta (Gemini sends calls whole), a finish chunk for the
//! `finishReason` (a blocked prompt, which has no candidate, ends with
//! `content_filter`). When the input ends: a usage chunk (`choices: []`) from
//! the last `usageMetadata` (cumulative, so the last one is the total),
//! then `data: [DONE]`. An `error` event becomes `data: {"error":{…}}` and
//! ends the stream.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::chat::{blocked_prompt, candidate_index, response_id};
use super::parts::{Piece, parts_of, pieces};
use super::{chat_usage, finish_reason};
use crate::stream::sse::{EventBuffer, event_data, write_data_event};
use crate::stream::transcode::Transcoder;

/// Longest event kept while waiting for its end.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Translates one Gemini stream into chat chunks.
#[derive(Debug)]
pub struct ToChatStream {
    events: EventBuffer,
    model: String,
    created: i64,
    /// The chunks' id, from the first event (its `responseId`).
    id: Option<String>,
    /// Per candidate index whose role chunk is out: its function calls so
    /// far.
    candidates: BTreeMap<u64, usize>,
    usage: Option<Value>,
    /// An error event ended the stream.
    failed: bool,
}

impl ToChatStream {
    /// A translator naming its chunks `model`, made at `created`.
    pub fn new(model: &str, created: i64) -> Self {
        Self {
            events: EventBuffer::new(MAX_EVENT_BYTES),
            model: model.to_string(),
            created,
            id: None,
            candidates: BTreeMap::new(),
            usage: None,
            failed: false,
        }
    }

    fn event(&mut self, event: &[u8], out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        let Some(response) = event_data(event)
            .and_then(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .filter(Value::is_object)
        else {
            return;
        };
        if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
            self.failed = true;
            write_data_event(out, &json!({"error": openai_error(error)}));
            return;
        }
        // The first event names the stream, so every chunk has one id.
        if self.id.is_none() {
            self.id = Some(response_id(&response, self.created));
        }
        if let Some(usage) = response.get("usageMetadata").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        let candidates = response
            .get("candidates")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (position, candidate) in candidates.iter().enumerate() {
            self.candidate(candidate_index(position, candidate), candidate, out);
        }
        if let Some(blocked) = blocked_prompt(&response) {
            self.candidate(0, &blocked, out);
        }
    }

    fn candidate(&mut self, index: u64, candidate: &Value, out: &mut Vec<u8>) {
        if let std::collections::btree_map::Entry::Vacant(entry) = self.candidates.entry(index) {
            entry.insert(0);
            self.chunk(
                out,
                index,
                json!({"role": "assistant", "content": ""}),
                None,
            );
        }
        let mut calls = self.candidates.get(&index).copied().unwrap_or_default();
        for part in parts_of(candidate) {
            for piece in pieces(part, &mut calls) {
                let delta = match piece {
                    Piece::Text(text) => json!({"content": text}),
                    Piece::Reasoning(text) => json!({"reasoning_content": text}),
                    Piece::Signature(signature) => json!({"reasoning_signature": signature}),
                    Piece::ToolCall(mut call) => {
                        if let Some(object) = call.as_object_mut() {
                            object.insert("index".into(), json!(calls.saturating_sub(1)));
                        }
                        json!({"tool_calls": [call]})
                    }
                };
                self.chunk(out, index, delta, None);
            }
        }
        self.candidates.insert(index, calls);
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            let reason = finish_reason(reason, calls > 0);
            self.chunk(out, index, json!({}), Some(reason));
        }
    }

    /// One chunk of one choice.
    fn chunk(&self, out: &mut Vec<u8>, index: u64, delta: Value, finish: Option<&str>) {
        let choices = json!([{"index": index, "delta": delta, "finish_reason": finish}]);
        write_data_event(out, &self.head(choices));
    }

    fn head(&self, choices: Value) -> Value {
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| format!("chatcmpl-gemini-{}", self.created));
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        })
    }
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
        if self.failed {
            return out;
        }
        if let Some(usage) = self.usage.as_ref().and_then(chat_usage) {
            let mut chunk = self.head(json!([]));
            if let Some(object) = chunk.as_object_mut() {
                object.insert("usage".into(), usage);
            }
            write_data_event(&mut out, &chunk);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        out
    }
}

/// A Gemini error object (`{code, message, status}`) in OpenAI's shape.
fn openai_error(error: &Value) -> Value {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the upstream stream failed");
    let kind = error
        .get("status")
        .and_then(Value::as_str)
        .map_or_else(|| "upstream_error".to_string(), str::to_ascii_lowercase);
    json!({"message": message, "type": kind, "code": error.get("code").cloned().unwrap_or(Value::Null)})
}
