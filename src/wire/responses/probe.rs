//! Reading a Responses answer's usage as it passes, without holding it up.
//!
//! A JSON answer is kept up to [`MAX_JSON_BYTES`] and its `usage` read once
//! at the end. A stream reports usage only in its final event's
//! `response`: SSE is read line by line and only data lines naming a
//! final event are parsed. When no usage is expected, the answer's text is
//! gathered too (the `.delta` events' text, or a JSON answer's output), up
//! to [`MAX_TEXT_BYTES`], for a local estimate.

use serde_json::Value;

use super::usage::usage_from_value;
use crate::stream::sse::{Lines, data_of_line};
use crate::tokens::Usage;
use crate::wire::BodyKind;
use crate::wire::openai_chat::{MAX_JSON_BYTES, MAX_TEXT_BYTES};
use crate::wire::probe::{Probe, Probed};

/// Longest SSE line kept while waiting for its end (a final event repeats
/// the whole answer, so this bounds the answers whose usage is read).
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Reads usage (and, when asked, the answer's text) from one Responses
/// body as it passes.
#[derive(Debug)]
pub struct UsageProbe {
    kind: BodyKind,
    pending: Vec<u8>,
    overflowed: bool,
    lines: Lines,
    found: Found,
}

/// What the probe has found so far.
#[derive(Debug, Default)]
struct Found {
    usage: Option<Usage>,
    text: Option<String>,
    /// Delta events seen (about one token each).
    deltas: u64,
}

impl UsageProbe {
    /// A probe for a body of `kind`; `gather_text` when no usage is expected.
    pub fn new(kind: BodyKind, gather_text: bool) -> Self {
        Self {
            kind,
            pending: Vec::new(),
            overflowed: false,
            lines: Lines::new(MAX_LINE_BYTES),
            found: Found {
                text: gather_text.then(String::new),
                ..Found::default()
            },
        }
    }
}

impl Found {
    fn sse_line(&mut self, line: &[u8]) {
        let Some(data) = data_of_line(line) else {
            return;
        };
        let is_delta = contains(data, b".delta\"");
        let is_final = contains(data, b"\"response.completed\"")
            || contains(data, b"\"response.incomplete\"")
            || contains(data, b"\"response.failed\"");
        self.deltas += u64::from(is_delta);
        if !(is_final || (is_delta && self.text.is_some())) {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        if let Some(usage) = event.pointer("/response/usage").and_then(usage_from_value) {
            self.usage = Some(usage);
        }
        if let Some(delta) = event.get("delta").and_then(Value::as_str) {
            self.gather(delta);
        }
    }

    /// A JSON answer's output text, for an estimate.
    fn gather_output(&mut self, response: &Value) {
        let output = response.get("output").and_then(Value::as_array);
        for item in output.into_iter().flatten() {
            for field in ["name", "arguments"] {
                self.gather(item.get(field).and_then(Value::as_str).unwrap_or_default());
            }
            for list in ["content", "summary"] {
                let parts = item.get(list).and_then(Value::as_array);
                for part in parts.into_iter().flatten() {
                    let text = part.get("text").or_else(|| part.get("refusal"));
                    self.gather(text.and_then(Value::as_str).unwrap_or_default());
                }
            }
        }
    }

    fn gather(&mut self, piece: &str) {
        if let Some(text) = &mut self.text
            && text.len() + piece.len() <= MAX_TEXT_BYTES
        {
            text.push_str(piece);
        }
    }
}

impl Probe for UsageProbe {
    fn observe(&mut self, chunk: &[u8]) {
        match self.kind {
            BodyKind::Json => {
                if self.pending.len() + chunk.len() > MAX_JSON_BYTES {
                    self.overflowed = true;
                    self.pending = Vec::new();
                }
                if !self.overflowed {
                    self.pending.extend_from_slice(chunk);
                }
            }
            BodyKind::Sse => {
                let found = &mut self.found;
                self.lines.push(chunk, |line| found.sse_line(line));
            }
        }
    }

    fn events_so_far(&self) -> Option<u64> {
        (self.kind == BodyKind::Sse).then_some(self.found.deltas)
    }

    fn finish(mut self: Box<Self>) -> Probed {
        let found = &mut self.found;
        match self.kind {
            BodyKind::Json if !self.overflowed => {
                let response = serde_json::from_slice::<Value>(&self.pending).unwrap_or_default();
                found.usage = response.get("usage").and_then(usage_from_value);
                // The whole answer is at hand: its text costs nothing more.
                if found.usage.is_none() {
                    found.text.get_or_insert_with(String::new);
                    found.gather_output(&response);
                }
            }
            BodyKind::Json => {}
            BodyKind::Sse => self.lines.finish(|line| found.sse_line(line)),
        }
        Probed {
            usage: self.found.usage,
            text: self.found.text.take(),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::responses::response_to_events;

    fn response() -> Value {
        serde_json::json!({
            "id": "resp_1", "object": "response", "status": "completed",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "Hello there", "annotations": []}]}],
            "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 8},
                      "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1},
                      "total_tokens": 15}
        })
    }

    fn run(kind: BodyKind, body: &[u8], size: usize, gather: bool) -> Probed {
        let mut probe: Box<dyn Probe> = Box::new(UsageProbe::new(kind, gather));
        for piece in body.chunks(size) {
            probe.observe(piece);
        }
        probe.finish()
    }

    #[test]
    fn usage_of_streams_and_json_split_anywhere() {
        let expected = Usage {
            prompt_tokens: 12,
            completion_tokens: 3,
            cached_tokens: 8,
            reasoning_tokens: 1,
            ..Usage::default()
        };
        let sse = response_to_events(&response());
        let json = response().to_string();
        for size in [1, 7, 64, sse.len()] {
            let found = run(BodyKind::Sse, sse.as_bytes(), size, false);
            assert_eq!((found.usage, found.text), (Some(expected), None));
            assert_eq!(
                run(BodyKind::Json, json.as_bytes(), size, false).usage,
                Some(expected)
            );
        }
        let mut probe = UsageProbe::new(BodyKind::Sse, false);
        Probe::observe(&mut probe, sse.as_bytes());
        assert_eq!(probe.events_so_far(), Some(1));
    }

    #[test]
    fn gathers_text_without_usage() {
        let mut bare = response();
        bare["usage"] = Value::Null;
        let sse = response_to_events(&bare);
        let found = run(BodyKind::Sse, sse.as_bytes(), 5, true);
        assert_eq!(
            (found.usage, found.text.as_deref()),
            (None, Some("Hello there"))
        );
        let found = run(BodyKind::Json, bare.to_string().as_bytes(), 5, false);
        assert_eq!(found.text.as_deref(), Some("Hello there"));
    }
}
