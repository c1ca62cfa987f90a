//! Reading usage from an Anthropic answer chunk by chunk, without holding
//! it up.
//!
//! A JSON answer is kept up to [`MAX_JSON_BYTES`] and parsed once at the
//! end. A stream is read line by line: `message_start` gives the input and
//! cache counts, each `message_delta` cumulative counts laid over them
//! (never summed); only lines that mention `"usage"` are parsed for it.
//! When no usage is expected the generated text (text, thinking, tool
//! input) is gathered up to [`MAX_TEXT_BYTES`] for a local estimate; a
//! JSON answer without usage always gives its text.

use serde_json::{Map, Value};

use super::usage::{merge, usage_from_value};
use crate::stream::sse::{Lines, data_of_line};
use crate::wire::BodyKind;
use crate::wire::openai_chat::{MAX_JSON_BYTES, MAX_TEXT_BYTES};
use crate::wire::probe::{Probe, Probed};

/// Longest SSE line kept while waiting for its end.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Reads usage (and, when asked, the answer's text) from one Anthropic
/// body as it passes.
#[derive(Debug)]
pub struct UsageProbe {
    kind: BodyKind,
    /// A JSON body kept for its usage.
    pending: Vec<u8>,
    overflowed: bool,
    lines: Lines,
    found: Found,
}

#[derive(Debug, Default)]
struct Found {
    /// The usage merged so far (a stream's).
    usage: Option<Map<String, Value>>,
    text: Option<String>,
    /// `content_block_delta` events seen: each carries a token or a few.
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
            BodyKind::Json if !self.overflowed => found.json_body(&self.pending),
            BodyKind::Json => {}
            BodyKind::Sse => self.lines.finish(|line| found.sse_line(line)),
        }
        let usage = found
            .usage
            .take()
            .and_then(|u| usage_from_value(&Value::Object(u)));
        Probed {
            usage,
            text: found.text.take(),
        }
    }
}

impl Found {
    fn json_body(&mut self, body: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        match message.get("usage").and_then(Value::as_object) {
            Some(usage) => self.usage = Some(usage.clone()),
            None => {
                self.text.get_or_insert_with(String::new);
            }
        }
        let blocks = message.get("content").and_then(Value::as_array);
        for block in blocks.into_iter().flatten() {
            for field in ["text", "thinking", "name"] {
                self.gather(block.get(field).and_then(Value::as_str));
            }
            if let Some(input) = block.get("input") {
                self.gather(Some(&input.to_string()));
            }
        }
    }

    fn sse_line(&mut self, line: &[u8]) {
        let Some(data) = data_of_line(line) else {
            return;
        };
        let is_delta = contains(data, b"\"content_block_delta\"");
        self.deltas += u64::from(is_delta);
        let has_usage = contains(data, b"\"usage\"");
        let wanted = has_usage || (is_delta && self.text.is_some());
        if !wanted {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        let usage = match event.get("type").and_then(Value::as_str) {
            Some("message_start") => event.get("message").and_then(|m| m.get("usage")),
            Some("message_delta") => event.get("usage"),
            _ => None,
        };
        if let Some(usage) = usage.filter(|u| u.is_object()) {
            merge(self.usage.get_or_insert_with(Map::new), usage);
        }
        if let Some(delta) = event.get("delta").filter(|_| is_delta) {
            for field in ["text", "thinking", "partial_json"] {
                self.gather(delta.get(field).and_then(Value::as_str));
            }
        }
    }

    fn gather(&mut self, piece: Option<&str>) {
        if let (Some(text), Some(piece)) = (&mut self.text, piece)
            && text.len() + piece.len() <= MAX_TEXT_BYTES
        {
            text.push_str(piece);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Usage;

    fn probed(kind: BodyKind, gather: bool, body: &str, size: usize) -> (Probed, Option<u64>) {
        let mut probe = Box::new(UsageProbe::new(kind, gather));
        for piece in body.as_bytes().chunks(size) {
            probe.observe(piece);
        }
        let events = probe.events_so_far();
        (probe.finish(), events)
    }

    const STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-opus-4-6\",\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":7,\"output_tokens\":1}}}\n\n\
        event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
        event: ping\ndata: {\"type\": \"ping\"}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n\
        event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
        event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n\
        event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn stream_usage_is_merged_not_summed_wherever_split() {
        for size in [1, 3, 17, STREAM.len()] {
            let (found, events) = probed(BodyKind::Sse, false, STREAM, size);
            assert_eq!(
                found.usage,
                Some(Usage {
                    prompt_tokens: 32,
                    completion_tokens: 15,
                    cache_write_tokens: 7,
                    ..Usage::default()
                })
            );
            assert_eq!(found.text, None);
            assert_eq!(events, Some(2));
        }
        let (found, _) = probed(BodyKind::Sse, true, STREAM, 5);
        assert_eq!(found.text.as_deref(), Some("Hello!"));
    }

    #[test]
    fn json_usage_and_text() {
        let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-4-6","content":[{"type":"text","text":"Hi"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"cache_read_input_tokens":4,"output_tokens":5}}"#;
        let (found, events) = probed(BodyKind::Json, false, body, 7);
        let usage = found.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.cached_tokens), (7, 4));
        assert_eq!(events, None);
        let without = body.replace(
            r#","usage":{"input_tokens":3,"cache_read_input_tokens":4,"output_tokens":5}"#,
            "",
        );
        let (found, _) = probed(BodyKind::Json, false, &without, 7);
        assert_eq!(found.usage, None);
        assert_eq!(found.text.as_deref(), Some(r#"Hif{"a":1}"#));
    }
}
