//! Token usage: what an upstream reports, read from a body as it passes,
//! and the [`UsageRecord`] kept for every chat request.
//!
//! A non-streamed answer carries `usage` in its JSON; a streamed one in a
//! chunk near its end (when the provider sends one). The probe looks at each
//! chunk without holding up the relay: SSE is scanned line by line (only
//! lines that mention `"usage"` are parsed), JSON is kept up to
//! [`MAX_JSON_BYTES`] and parsed once at the end.

mod record;

use serde::Deserialize;

pub use record::{CacheStatus, UsageRecord};

use crate::cache::BodyKind;

/// Largest JSON answer kept to read its usage; bigger answers are rare
/// (long completions are streamed) and their usage is not read.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;
/// Longest SSE line kept while waiting for its end.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

impl From<WireUsage> for Usage {
    fn from(wire: WireUsage) -> Self {
        Self {
            prompt_tokens: wire.prompt_tokens,
            completion_tokens: wire.completion_tokens,
            cached_tokens: wire
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}

/// The usage of a JSON or SSE text, if it reports one.
fn parse(json: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<WithUsage>(json)
        .ok()?
        .usage
        .map(Usage::from)
}

/// Reads usage from a body chunk by chunk. See the module docs.
#[derive(Debug)]
pub struct UsageProbe {
    kind: BodyKind,
    pending: Vec<u8>,
    overflowed: bool,
    found: Option<Usage>,
}

impl UsageProbe {
    pub fn new(kind: BodyKind) -> Self {
        Self {
            kind,
            pending: Vec::new(),
            overflowed: false,
            found: None,
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
            BodyKind::Sse => self.observe_sse(chunk),
        }
    }

    fn observe_sse(&mut self, mut chunk: &[u8]) {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let (line, rest) = chunk.split_at(end);
            if self.pending.is_empty() {
                self.sse_line(line);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.sse_line(&whole);
            }
            chunk = &rest[1..];
        }
        if self.pending.len() + chunk.len() <= MAX_LINE_BYTES {
            self.pending.extend_from_slice(chunk);
        } else {
            self.pending.clear();
        }
    }

    fn sse_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        if contains(data, b"\"usage\"") {
            if let Some(usage) = parse(data.trim_ascii()) {
                self.found = Some(usage);
            }
        }
    }

    /// The usage, once the body has ended.
    pub fn finish(mut self) -> Option<Usage> {
        match self.kind {
            BodyKind::Json if !self.overflowed => parse(&self.pending),
            BodyKind::Json => None,
            BodyKind::Sse => {
                let rest = std::mem::take(&mut self.pending);
                self.sse_line(&rest);
                self.found
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
        let mut probe = UsageProbe::new(BodyKind::Json);
        for piece in body.chunks(7) {
            probe.observe(piece);
        }
        assert_eq!(
            probe.finish(),
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 5,
                cached_tokens: 8
            })
        );
    }

    #[test]
    fn sse_usage_chunk_split_anywhere() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}\n\n\
                    data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n\
                    data: [DONE]\n\n";
        for size in [1, 5, 13, body.len()] {
            let mut probe = UsageProbe::new(BodyKind::Sse);
            for piece in body.as_bytes().chunks(size) {
                probe.observe(piece);
            }
            let usage = probe.finish().unwrap();
            assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 4));
            assert_eq!(usage.total(), 7);
        }
    }

    #[test]
    fn no_usage_is_none() {
        let mut probe = UsageProbe::new(BodyKind::Sse);
        probe.observe(b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n");
        assert_eq!(probe.finish(), None);
        let mut probe = UsageProbe::new(BodyKind::Json);
        probe.observe(b"{\"usage\":null}");
        assert_eq!(probe.finish(), None);
    }
}
