//! Keys kept out of what upstreams send back.
//!
//! Some providers quote the key they were sent in their errors (`Incorrect
//! API key provided: sk-…`), in 4xx and 5xx bodies, HTML error pages, 200
//! bodies that carry an `error` object, and error events inside a stream.
//! Relayed as they are, such answers would show a configured provider key
//! to whoever sent the request, and, in open mode, show one client's own
//! key (passed through) to another client sharing its flight. So every
//! upstream answer, headers and body, passes through a [`Redactor`] that
//! replaces each configured provider key, and the key passed through for
//! the request, with its mask (`sk-…a1b2`) before anything else sees it:
//! the client, the single flight's followers, the request log, the cache.
//!
//! The body is redacted as it streams: a chunk goes on at once unless it
//! ends with what could be the start of a key, and only that tail waits for
//! the next chunk (SSE chunks end with a newline, which no key contains, so
//! they never wait). Secrets shorter than [`MIN_SECRET_LEN`] are not
//! searched for: they are not real keys (`unused`, `none`), and replacing
//! such words would damage answers.

use std::sync::Arc;

use aho_corasick::AhoCorasick;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};

use crate::config::secret::mask;

/// Shortest value treated as a key worth searching for.
pub const MIN_SECRET_LEN: usize = 8;

/// Replaces known secrets in upstream answers; cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor(Option<Arc<Patterns>>);

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.as_ref().map_or(0, |p| p.secrets.len());
        write!(f, "Redactor({count} secrets)")
    }
}

struct Patterns {
    matcher: AhoCorasick,
    secrets: Vec<Vec<u8>>,
    masks: Vec<String>,
    /// Bytes that occur in some secret: a chunk whose last byte is not
    /// among them cannot end with the start of one.
    alphabet: [bool; 256],
}

impl Redactor {
    /// A redactor for `secrets` (short ones and repeats left out).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut kept: Vec<&str> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        kept.sort_unstable();
        kept.dedup();
        if kept.is_empty() {
            return Self(None);
        }
        // Longest first: where one key contains another, the whole goes.
        kept.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let matcher = AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&kept);
        let Ok(matcher) = matcher else {
            return Self(None);
        };
        let mut alphabet = [false; 256];
        for byte in kept.iter().flat_map(|s| s.bytes()) {
            alphabet[usize::from(byte)] = true;
        }
        Self(Some(Arc::new(Patterns {
            matcher,
            masks: kept.iter().map(|s| mask(s)).collect(),
            secrets: kept.iter().map(|s| s.as_bytes().to_vec()).collect(),
            alphabet,
        })))
    }

    /// This redactor with `extra` (a client's own key) searched for too.
    pub fn with(&self, extra: Option<&str>) -> Self {
        let Some(extra) = extra.filter(|e| e.len() >= MIN_SECRET_LEN) else {
            return self.clone();
        };
        let mut secrets: Vec<String> = self
            .0
            .as_ref()
            .map(|p| {
                p.secrets
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        secrets.push(extra.to_string());
        Self::new(secrets.iter().map(String::as_str))
    }

    /// `input` with every secret masked; `None` when it holds none.
    pub fn bytes(&self, input: &[u8]) -> Option<Vec<u8>> {
        self.replace(input, false)
    }

    /// `ascii`: masks with `...` rather than `…`, for header values, which
    /// clients read as ASCII.
    fn replace(&self, input: &[u8], ascii: bool) -> Option<Vec<u8>> {
        let patterns = self.0.as_ref()?;
        patterns.matcher.find(input)?;
        let mut out = Vec::with_capacity(input.len());
        patterns
            .matcher
            .replace_all_with_bytes(input, &mut out, |found, _, out| {
                let mask = &patterns.masks[found.pattern().as_usize()];
                match ascii {
                    true => out.extend_from_slice(mask.replace('…', "...").as_bytes()),
                    false => out.extend_from_slice(mask.as_bytes()),
                }
                true
            });
        Some(out)
    }

    /// Masks secrets in every header value.
    pub fn headers(&self, headers: &mut HeaderMap) {
        if self.0.is_none() {
            return;
        }
        for value in headers.values_mut() {
            if let Some(clean) = self.replace(value.as_bytes(), true)
                && let Ok(clean) = HeaderValue::from_bytes(&clean)
            {
                *value = clean;
            }
        }
    }

    /// The state for redacting one body chunk by chunk.
    pub fn stream(&self) -> StreamRedaction {
        StreamRedaction {
            redactor: self.clone(),
            held: Vec::new(),
        }
    }
}

/// One body's redaction, chunk by chunk: the tail of a chunk that could
/// begin a secret waits for the next chunk.
pub struct StreamRedaction {
    redactor: Redactor,
    /// The end of the last chunk, which could be the start of a secret.
    held: Vec<u8>,
}

impl StreamRedaction {
    /// Whether there is anything to search for.
    pub fn is_active(&self) -> bool {
        self.redactor.0.is_some()
    }

    /// What of `chunk` may go on now (possibly empty: all of it held).
    pub fn chunk(&mut self, chunk: Bytes) -> Bytes {
        let Some(patterns) = self.redactor.0.clone() else {
            return chunk;
        };
        let ends_plainly = chunk
            .last()
            .is_none_or(|&last| !patterns.alphabet[usize::from(last)]);
        if self.held.is_empty() && ends_plainly && patterns.matcher.find(&chunk[..]).is_none() {
            return chunk;
        }
        let mut text = std::mem::take(&mut self.held);
        text.extend_from_slice(&chunk);
        let mut text = self.redactor.bytes(&text).unwrap_or(text);
        let hold = partial_secret_len(&patterns, &text);
        self.held = text.split_off(text.len() - hold);
        Bytes::from(text)
    }

    /// The held tail, at the end of the body: the start of a secret that
    /// never finished. A long one is masked all the same.
    pub fn finish(&mut self) -> Option<Bytes> {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return None;
        }
        let patterns = self.redactor.0.as_ref()?;
        if held.len() >= MIN_SECRET_LEN
            && let Some(index) = patterns.secrets.iter().position(|s| s.starts_with(&held))
        {
            return Some(Bytes::from(patterns.masks[index].clone()));
        }
        Some(Bytes::from(held))
    }
}

/// The length of the longest end of `text` that begins some secret.
fn partial_secret_len(patterns: &Patterns, text: &[u8]) -> usize {
    let Some(&last) = text.last() else {
        return 0;
    };
    if !patterns.alphabet[usize::from(last)] {
        return 0;
    }
    let mut longest = 0;
    for secret in &patterns.secrets {
        for len in (longest + 1..secret.len().min(text.len() + 1)).rev() {
            if secret[len - 1] == last && text.ends_with(&secret[..len]) {
                longest = len;
                break;
            }
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-canary-0123456789abcdef";

    #[test]
    fn masks_every_secret_and_leaves_short_ones() {
        let redactor = Redactor::new([KEY, "unused", "other-key-777777777"]);
        let text = format!("Incorrect API key provided: {KEY}. unused other-key-777777777");
        let clean = String::from_utf8(redactor.bytes(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            clean,
            "Incorrect API key provided: sk-…cdef. unused oth…7777"
        );
        assert!(redactor.bytes(b"nothing secret here").is_none());
        assert!(Redactor::new(["short"]).bytes(b"short").is_none());
    }

    #[test]
    fn a_secret_split_across_chunks_is_masked() {
        let redactor = Redactor::new([KEY]);
        let text = format!("{{\"error\":\"bad key {KEY} given\"}}\n");
        for size in 1..text.len() {
            let mut stream = redactor.stream();
            let mut out = Vec::new();
            for piece in text.as_bytes().chunks(size) {
                out.extend_from_slice(&stream.chunk(Bytes::copy_from_slice(piece)));
            }
            out.extend_from_slice(&stream.finish().unwrap_or_default());
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out, "{\"error\":\"bad key sk-…cdef given\"}\n", "{size}");
        }
    }

    #[test]
    fn plain_chunks_pass_without_a_copy_and_a_cut_key_is_masked_at_the_end() {
        let redactor = Redactor::new([KEY]);
        let mut stream = redactor.stream();
        let chunk = Bytes::from_static(b"data: {\"choices\":[]}\n\n");
        let passed = stream.chunk(chunk.clone());
        assert_eq!(passed.as_ptr(), chunk.as_ptr(), "zero-copy");
        assert_eq!(
            stream.chunk(Bytes::from_static(b"key sk-canary-0123")),
            "key "
        );
        assert_eq!(stream.finish().unwrap(), "sk-…cdef");
        let extra = Redactor::default().with(Some("sk-client-own-key-4242"));
        assert_eq!(
            extra.bytes(b"sk-client-own-key-4242").unwrap(),
            "sk-…4242".as_bytes()
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "location",
            HeaderValue::from_static("https://x/?k=sk-canary-0123456789abcdef"),
        );
        redactor.headers(&mut headers);
        assert_eq!(headers["location"], "https://x/?k=sk-...cdef");
    }
}
