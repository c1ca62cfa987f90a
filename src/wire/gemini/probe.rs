//! Reading usage from a Gemini answer chunk by chunk, without holding it
//! up: a JSON answer is kept (up to [`MAX_JSON_BYTES`]) and read once at
//! the end; an SSE stream is read line by line, and only lines mentioning
//! `"usageMetadata"` are parsed unless text is gathered. `usageMetadata` is
//! cumulative, so each one found replaces the last.

use serde_json::Value;

use super::usage_from_value;
use crate::stream::sse::{Lines, data_of_line};
use crate::wire::BodyKind;
use crate::wire::openai_chat::{MAX_JSON_BYTES, MAX_TEXT_BYTES};
use crate::wire::probe::{Probe, Probed};

/// Longest SSE line kept while waiting for its end.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Reads usage (and, when asked, the answer's text) from one Gemini body.
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
    usage: Option<crate::tokens::Usage>,
    text: Option<String>,
    events: u64,
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

    /// Streamed events so far (Gemini's carry a few tokens each, so this
    /// undercounts: a floor, not an estimate).
    fn events_so_far(&self) -> Option<u64> {
        (self.kind == BodyKind::Sse).then_some(self.found.events)
    }

    fn finish(mut self: Box<Self>) -> Probed {
        let found = &mut self.found;
        match self.kind {
            BodyKind::Json if !self.overflowed => {
                if let Ok(response) = serde_json::from_slice::<Value>(&self.pending) {
                    found.usage = response.get("usageMetadata").and_then(usage_from_value);
                    if found.usage.is_none() {
                        found.text.get_or_insert_with(String::new);
                        found.gather(&response);
                    }
                }
            }
            BodyKind::Json => {}
            BodyKind::Sse => self.lines.finish(|line| found.sse_line(line)),
        }
        Probed {
            usage: self.found.usage,
            text: self.found.text,
        }
    }
}

impl Found {
    fn sse_line(&mut self, line: &[u8]) {
        let Some(data) = data_of_line(line) else {
            return;
        };
        let data = data.trim_ascii();
        if data.first() != Some(&b'{') {
            return;
        }
        self.events += 1;
        let wanted = self.text.is_some() || contains(data, b"\"usageMetadata\"");
        let Some(response) = wanted
            .then(|| serde_json::from_slice::<Value>(data).ok())
            .flatten()
        else {
            return;
        };
        if let Some(usage) = response.get("usageMetadata").and_then(usage_from_value) {
            self.usage = Some(usage);
        }
        self.gather(&response);
    }

    /// Adds the text of a response's parts (and its calls' names and
    /// arguments) to the gathered text, when text is gathered.
    fn gather(&mut self, response: &Value) {
        let Some(text) = &mut self.text else {
            return;
        };
        let candidates = response.get("candidates").and_then(Value::as_array);
        let parts = candidates
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer("/content/parts").and_then(Value::as_array))
            .flatten();
        for part in parts {
            let mut pieces = Vec::new();
            pieces.extend(part.get("text").and_then(Value::as_str).map(str::to_string));
            if let Some(call) = part.get("functionCall") {
                pieces.extend(call.get("name").and_then(Value::as_str).map(str::to_string));
                pieces.extend(call.get("args").map(Value::to_string));
            }
            for piece in pieces {
                if text.len() + piece.len() <= MAX_TEXT_BYTES {
                    text.push_str(&piece);
                }
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
