//! Cache keys: SHA-256 over a canonical form of the request.
//!
//! What goes in, each part length-prefixed so no two different requests can
//! produce the same input:
//! 1. the key-scheme version (`llm-bridge-cache-v1`),
//! 2. the endpoint (`chat/completions`): each dialect keys its own requests,
//! 3. the resolved provider's name and its base URL,
//! 4. the upstream model,
//! 5. the scope (`shared`, `key:<id>` or `group:<name>`; never a key),
//! 6. the body without `model`, `stream`, `stream_options` and the configured
//!    ignored fields, as JSON with object keys sorted at every level and no
//!    insignificant whitespace.
//!
//! So key order, formatting, the way the model was named (`deepseek-chat` or
//! `deepseek/deepseek-chat`) and streamed versus not never cause a miss.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Version of the canonical form; changing the form changes this.
pub const KEY_SCHEME: &str = "llm-bridge-cache-v1";

/// Fields never part of the key: the model is keyed in its resolved form, and
/// streaming only changes the wire format of the same answer.
pub const ALWAYS_IGNORED: &[&str] = &["model", "stream", "stream_options"];

/// A cache key: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// A key typed by a user (CLI) or read from a file name.
    pub fn parse(text: &str) -> Option<Self> {
        let valid =
            text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Self(text.to_string()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a key is made of besides the body.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    pub endpoint: &'a str,
    pub provider: &'a str,
    pub base_url: &'a str,
    pub upstream_model: &'a str,
    pub scope: &'a str,
    /// Body fields left out of the key (config `cache.ignore_fields`).
    pub ignored_fields: &'a [String],
}

/// Bodies whose fields come to at most this many bytes are keyed from one
/// buffer of their canonical form. A larger one is serialised twice, once to
/// learn the length that prefixes it and once into the hash, rather than
/// held in one more copy as large as the prompt (and twice that while the
/// buffer grows) for every such request in flight.
const BUFFERED_BODY_BYTES: usize = 64 * 1024;

/// The key of a request whose top-level body fields are `fields` (in any
/// order, values as written).
pub fn derive<'a>(
    context: KeyContext<'_>,
    fields: impl Iterator<Item = (&'a str, &'a RawValue)>,
) -> Result<CacheKey, serde_json::Error> {
    let (body, written_bytes) = canonical_body(fields, context.ignored_fields)?;
    let mut hasher = Sha256::new();
    for part in [
        KEY_SCHEME.as_bytes(),
        context.endpoint.as_bytes(),
        context.provider.as_bytes(),
        context.base_url.as_bytes(),
        context.upstream_model.as_bytes(),
        context.scope.as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    if written_bytes <= BUFFERED_BODY_BYTES {
        let canonical = serde_json::to_vec(&body)?;
        hasher.update((canonical.len() as u64).to_be_bytes());
        hasher.update(&canonical);
    } else {
        let mut length = ByteCount(0);
        serde_json::to_writer(&mut length, &body)?;
        hasher.update(length.0.to_be_bytes());
        serde_json::to_writer(IntoHash(&mut hasher), &body)?;
    }
    Ok(CacheKey(hex::encode(hasher.finalize())))
}

/// The body fields that matter, each parsed (serde_json's map is ordered by
/// key, so serialising the result sorts every level), and how many bytes
/// they were written in.
fn canonical_body<'a>(
    body: impl Iterator<Item = (&'a str, &'a RawValue)>,
    ignored: &[String],
) -> Result<(BTreeMap<&'a str, Value>, usize), serde_json::Error> {
    let mut fields = BTreeMap::new();
    let mut written_bytes = 0;
    for (name, raw) in body {
        if ALWAYS_IGNORED.contains(&name) || ignored.iter().any(|i| i == name) {
            continue;
        }
        written_bytes += raw.get().len();
        fields.insert(name, serde_json::from_str::<Value>(raw.get())?);
    }
    Ok((fields, written_bytes))
}

/// Counts what is written to it.
struct ByteCount(u64);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Feeds what is written to it into a hash.
struct IntoHash<'a>(&'a mut Sha256);

impl std::io::Write for IntoHash<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;

    use super::*;
    use crate::api::openai_chat::ChatBody;

    fn key_of(body: &str, scope: &str) -> CacheKey {
        let body = ChatBody::parse(Bytes::from(body.to_string())).unwrap();
        let ignored = vec!["user".to_string(), "metadata".to_string()];
        derive(
            KeyContext {
                endpoint: "chat/completions",
                provider: "deepseek",
                base_url: "https://api.deepseek.com/v1",
                upstream_model: "deepseek-chat",
                scope,
                ignored_fields: &ignored,
            },
            body.fields(),
        )
        .unwrap()
    }

    #[test]
    fn order_whitespace_stream_and_ignored_fields_do_not_matter() {
        let a = key_of(
            r#"{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}],"temperature":0}"#,
            "shared",
        );
        let b = key_of(
            r#"{ "temperature" : 0, "stream": true, "stream_options": {"include_usage": true},
                "messages" : [ { "content":"hi", "role":"user" } ], "model": "deepseek/deepseek-chat",
                "user": "u-1", "metadata": {"run": 7} }"#,
            "shared",
        );
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(CacheKey::parse(a.as_str()), Some(a.clone()));
    }

    #[test]
    fn content_and_scope_do_matter() {
        let base = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let other = r#"{"model":"m","messages":[{"role":"user","content":"hi!"}]}"#;
        let hotter = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1}"#;
        assert_ne!(key_of(base, "shared"), key_of(other, "shared"));
        assert_ne!(key_of(base, "shared"), key_of(hotter, "shared"));
        assert_ne!(key_of(base, "key:alice"), key_of(base, "key:bob"));
    }

    /// The key as the module doc defines it, hashed from one buffer of
    /// the canonical body written out by hand.
    fn by_definition(canonical: &str) -> CacheKey {
        let mut hasher = Sha256::new();
        for part in [
            KEY_SCHEME,
            "chat/completions",
            "deepseek",
            "https://api.deepseek.com/v1",
            "deepseek-chat",
            "shared",
            canonical,
        ] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        CacheKey(hex::encode(hasher.finalize()))
    }

    #[test]
    fn small_and_large_bodies_are_keyed_as_the_scheme_says() {
        for length in [10, BUFFERED_BODY_BYTES + 1, 300_000] {
            let text = "é".repeat(length / 2);
            let body = format!(
                r#"{{"temperature":0, "model":"deepseek-chat", "messages":[{{"role":"user","content":"{text}"}}]}}"#
            );
            let canonical =
                format!(r#"{{"messages":[{{"content":"{text}","role":"user"}}],"temperature":0}}"#);
            assert_eq!(
                key_of(&body, "shared"),
                by_definition(&canonical),
                "{length}"
            );
        }
    }

    #[test]
    fn only_hex_keys_parse() {
        assert!(CacheKey::parse("../etc/passwd").is_none());
        assert!(CacheKey::parse(&"A".repeat(64)).is_none());
        assert!(CacheKey::parse(&"a".repeat(63)).is_none());
    }
}
