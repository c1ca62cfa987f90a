//! Reading usage from an answer chunk by chunk, without holding it up.
//!
//! A non-streamed answer carries `usage` in its JSON, kept up to
//! [`MAX_JSON_BYTES`] and parsed once at the end. A streamed one carries it
//! in a chunk near its end, when the provider sends one: SSE is scanned line
//! by line and only lines that mention `"usage"` are parsed. When no usage
//! is expected (a provider that cannot be asked for it), the answer's text
//! is gathered as well, up to [`MAX_TEXT_BYTES`], for a local estimate; a
//! JSON answer without usage always gives its text.

use serde::Deserialize;

use super::usage::usage_of;
use crate::stream::sse::{Lines, data_of_line};
use crate::tokens::Usage;
use crate::wire::BodyKind;
use crate::wire::probe::{Probe, Probed};

/// Largest JSON answer kept to read its usage; bigger answers are rare
/// (long completions are streamed) and their usage is not read.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Longest SSE line kept while waiting for its end.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Most answer text gathered for an estimate.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The parts of a chunk or completion whose text counts as output.
#[derive(Deserialize, Default)]
struct Output {
    #[serde(default)]
    choices: Vec<OutputChoice>,
}

#[derive(Deserialize, Default)]
struct OutputChoice {
    #[serde(default, alias = "message")]
    delta: Option<OutputParts>,
    /// A legacy completion's text.
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
struct OutputParts {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<OutputToolCall>,
}

#[derive(Deserialize, Default)]
struct OutputToolCall {
    #[serde(default)]
    function: Option<OutputFunction>,
}

#[derive(Deserialize, Default)]
struct OutputFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// Reads usage (and, when asked, the answer's text) from one body as it
/// passes.
#[derive(Debug)]
pub struct UsageProbe {
    kind: BodyKind,
    /// A JSON body kept for its usage.
    pending: Vec<u8>,
    overflowed: bool,
    /// An SSE body's lines.
    lines: Lines,
    found: Found,
}

/// What the probe has found so far.
#[derive(Debug, Default)]
struct Found {
    usage: Option<Usage>,
    text: Option<String>,
    /// SSE data events carrying JSON seen so far.
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

    /// Looks at the next chunk of the body.
    pub fn observe(&mut self, chunk: &[u8]) {
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

    /// What was found, once the body has ended.
    pub fn finish(mut self) -> Probed {
        let found = &mut self.found;
        match self.kind {
            BodyKind::Json if !self.overflowed => {
                let body = std::mem::take(&mut self.pending);
                found.usage = usage_of(&body);
                // The whole answer is at hand: its text costs one more
                // parse, and only when the usage is missing.
                if found.usage.is_none() {
                    found.text.get_or_insert_with(String::new);
                    if let Ok(output) = serde_json::from_slice::<Output>(&body) {
                        found.gather(output);
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

impl Probe for UsageProbe {
    fn observe(&mut self, chunk: &[u8]) {
        UsageProbe::observe(self, chunk);
    }

    /// How many streamed events came (each carries about one token of an
    /// OpenAI-style stream).
    fn events_so_far(&self) -> Option<u64> {
        (self.kind == BodyKind::Sse).then_some(self.found.events)
    }

    fn finish(self: Box<Self>) -> Probed {
        UsageProbe::finish(*self)
    }
}

impl Found {
    fn sse_line(&mut self, line: &[u8]) {
        let Some(data) = data_of_line(line) else {
            return;
        };
        let data = data.trim_ascii();
        self.events += u64::from(data.first() == Some(&b'{'));
        if contains(data, b"\"usage\"")
            && let Some(usage) = usage_of(data)
        {
            self.usage = Some(usage);
        }
        if self.text.is_some()
            && data.first() == Some(&b'{')
            && let Ok(output) = serde_json::from_slice::<Output>(data)
        {
            self.gather(output);
        }
    }

    fn gather(&mut self, output: Output) {
        let Some(text) = &mut self.text else {
            return;
        };
        for choice in output.choices {
            let part = choice.delta.unwrap_or_default();
            let calls = part.tool_calls.into_iter().filter_map(|c| c.function);
            let pieces = [
                choice.text,
                part.content,
                part.reasoning_content,
                part.refusal,
            ]
            .into_iter()
            .flatten()
            .chain(calls.flat_map(|f| [f.name, f.arguments].into_iter().flatten()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_usage_across_chunks() {
        let body = br#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":8}}}"#;
        let mut probe = UsageProbe::new(BodyKind::Json, false);
        for piece in body.chunks(7) {
            probe.observe(piece);
        }
        assert_eq!(
            probe.finish().usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 5,
                cached_tokens: 8,
                ..Usage::default()
            })
        );
    }

    #[test]
    fn sse_usage_chunk_split_anywhere() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}\n\n\
                    data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n\
                    data: [DONE]\n\n";
        for size in [1, 5, 13, body.len()] {
            let mut probe = UsageProbe::new(BodyKind::Sse, false);
            for piece in body.as_bytes().chunks(size) {
                probe.observe(piece);
            }
            let found = probe.finish();
            let usage = found.usage.unwrap();
            assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 4));
            assert_eq!(usage.total(), 7);
            assert_eq!(found.text, None, "text only when asked for");
        }
    }

    #[test]
    fn no_usage_is_none() {
        let mut probe = UsageProbe::new(BodyKind::Sse, false);
        probe.observe(b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n");
        assert_eq!(probe.finish().usage, None);
        let mut probe = UsageProbe::new(BodyKind::Json, false);
        probe.observe(b"{\"usage\":null}");
        assert_eq!(probe.finish().usage, None);
    }

    #[test]
    fn gathers_the_answer_text_when_asked() {
        let body = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\"lo\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
                    data: [DONE]\n\n";
        let mut probe = UsageProbe::new(BodyKind::Sse, true);
        for piece in body.as_bytes().chunks(9) {
            probe.observe(piece);
        }
        assert_eq!(probe.finish().text.as_deref(), Some("Hellof{}"));
        let json = br#"{"choices":[{"message":{"role":"assistant","content":"Hi there"}}]}"#;
        let mut probe = UsageProbe::new(BodyKind::Json, true);
        probe.observe(json);
        assert_eq!(probe.finish().text.as_deref(), Some("Hi there"));
    }
}
