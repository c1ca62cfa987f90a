//! The chat-completions request body: parsed once, shallowly, and checked
//! (a string `model`, an array `messages`, a boolean `stream`, an object
//! `stream_options`).
//!
//! Only the top level is split into fields; every value stays as the client
//! wrote it ([`RawValue`]), so forwarding changes nothing but `model`, and a
//! body whose model needs no rewrite is forwarded as the very bytes received.
//! Nesting deeper than [`MAX_DEPTH`] is refused up front: no real request
//! comes close, and it keeps every later parse (ours or an upstream's) far
//! from its recursion limit.

use std::fmt;

use axum::body::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::ParsedRequest;

/// Deepest nesting of arrays and objects accepted, the same bound serde_json
/// applies when it builds a value.
pub const MAX_DEPTH: usize = 128;

/// A validated chat-completions body.
#[derive(Debug)]
pub struct ChatBody {
    raw: Bytes,
    fields: Vec<(String, Box<RawValue>)>,
    model: String,
    stream: bool,
    /// `stream_options.include_usage`.
    include_usage: bool,
}

/// `stream_options` as far as the gateway reads it; other members pass
/// through untouched.
#[derive(serde::Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl ChatBody {
    /// Parses and validates the body: a JSON object with a string `model` and
    /// an array `messages`.
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        if nesting_exceeds(&raw, MAX_DEPTH) {
            return Err(AppError::InvalidJson(format!(
                "request body is nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let TopLevel(fields) = serde_json::from_slice(&raw)
            .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))?;
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.get());

        let model = match field("model").map(serde_json::from_str::<String>) {
            Some(Ok(model)) if !model.trim().is_empty() => model,
            Some(_) => return Err(invalid("model", "`model` must be a non-empty string")),
            None => return Err(invalid("model", "`model` is required")),
        };
        match field("messages") {
            Some(v) if v.starts_with('[') => {}
            Some(_) => return Err(invalid("messages", "`messages` must be an array")),
            None => return Err(invalid("messages", "`messages` is required")),
        }
        let stream = match field("stream") {
            None | Some("null") | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("stream", "`stream` must be true or false")),
        };
        let include_usage = match field("stream_options") {
            None | Some("null") => false,
            // serde reads a struct from an array too; only an object is one.
            Some(v) => serde_json::from_str::<StreamOptions>(v)
                .ok()
                .filter(|_| v.starts_with('{'))
                .ok_or_else(|| {
                    invalid(
                        "stream_options",
                        "`stream_options` must be an object such as {\"include_usage\": true}",
                    )
                })?
                .include_usage
                .unwrap_or(false),
        };
        Ok(Self {
            raw,
            fields,
            model,
            stream,
            include_usage,
        })
    }

    /// Top-level fields in the order written, values as written.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_ref()))
    }

    /// The body to send upstream: unchanged when the upstream model is the
    /// client's and no usage is to be asked for, otherwise the same fields
    /// with `model` replaced and, with `ask_usage`,
    /// `stream_options.include_usage` set (other stream options kept).
    fn for_upstream(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        if upstream_model == self.model && !ask_usage {
            return self.raw.clone();
        }
        let mut out = Vec::with_capacity(self.raw.len() + 48);
        out.push(b'{');
        let mut options_seen = false;
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_string(&mut out, key);
            out.push(b':');
            match key.as_str() {
                "model" => push_json_string(&mut out, upstream_model),
                "stream_options" if ask_usage => {
                    options_seen = true;
                    out.extend_from_slice(&with_include_usage(value));
                }
                _ => out.extend_from_slice(value.get().as_bytes()),
            }
        }
        if ask_usage && !options_seen {
            out.extend_from_slice(br#","stream_options":{"include_usage":true}"#);
        }
        out.push(b'}');
        Bytes::from(out)
    }
}

impl ParsedRequest for ChatBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        self.stream
    }

    fn wants_stream_usage(&self) -> bool {
        self.include_usage
    }

    fn raw(&self) -> &Bytes {
        &self.raw
    }

    fn key_fields(&self) -> Vec<(&str, &RawValue)> {
        self.fields().collect()
    }

    fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        self.for_upstream(upstream_model, ask_usage)
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.raw.clone(),
            estimate: crate::tokens::openai_chat::estimate_body,
        }
    }
}

/// `stream_options` with `include_usage: true` (parsing checked it is an
/// object, or `null`, which becomes one).
fn with_include_usage(options: &RawValue) -> Vec<u8> {
    let mut map = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(options.get())
        .unwrap_or_default();
    map.insert("include_usage".into(), serde_json::Value::Bool(true));
    serde_json::to_vec(&map).unwrap_or_else(|_| br#"{"include_usage":true}"#.to_vec())
}

/// Whether arrays and objects nest deeper than `limit`, brackets inside
/// strings not counted. One pass, no allocation.
fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn invalid(param: &'static str, message: &str) -> AppError {
    AppError::InvalidField {
        param,
        message: message.to_string(),
    }
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The top-level object as ordered `(key, raw value)` pairs. Duplicate keys
/// are rejected: the gateway and the upstream could otherwise read different
/// models from one body.
struct TopLevel(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::with_capacity(8);
        while let Some(key) = map.next_key::<String>()? {
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value = map.next_value::<Box<RawValue>>()?;
            fields.push((key, value));
        }
        Ok(TopLevel(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ChatBody, AppError> {
        ChatBody::parse(Bytes::from(text.to_string()))
    }

    #[test]
    fn keeps_bytes_when_model_is_unchanged() {
        let text = r#"{ "model" : "gpt-4.1", "messages": [ {"role":"user","content":"hi"} ] }"#;
        let body = parse(text).unwrap();
        assert_eq!(body.model(), "gpt-4.1");
        assert!(!body.stream());
        assert_eq!(body.for_upstream("gpt-4.1", false), text.as_bytes());
    }

    #[test]
    fn asks_for_stream_usage_keeping_other_stream_options() {
        let text = r#"{"model":"gpt-4.1","messages":[],"stream":true}"#;
        let out = parse(text).unwrap().for_upstream("gpt-4.1", true);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#
        );
        let text = r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_obfuscation":false}}"#;
        let out = parse(text).unwrap().for_upstream("x", true);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value["stream_options"],
            serde_json::json!({"include_obfuscation": false, "include_usage": true})
        );
        assert_eq!(value["model"], "x");
    }

    #[test]
    fn rewrites_only_the_model() {
        let text = r#"{"messages":[{"role":"user","content":"h\u00e9"}],"model":"deepseek/deepseek-chat","temperature":1e-1,"stream":true}"#;
        let body = parse(text).unwrap();
        assert!(body.stream());
        let out = body.for_upstream("deepseek-chat", false);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"messages":[{"role":"user","content":"h\u00e9"}],"model":"deepseek-chat","temperature":1e-1,"stream":true}"#
        );
    }

    #[test]
    fn rejects_bad_bodies_with_the_right_code() {
        let cases = [
            ("not json", "invalid_json"),
            ("[1,2]", "invalid_json"),
            (r#"{"model":"a","model":"b","messages":[]}"#, "invalid_json"),
            (r#"{"messages":[]}"#, "invalid_parameter"),
            (r#"{"model":7,"messages":[]}"#, "invalid_parameter"),
            (r#"{"model":"  ","messages":[]}"#, "invalid_parameter"),
            (r#"{"model":"gpt-4.1"}"#, "invalid_parameter"),
            (
                r#"{"model":"gpt-4.1","messages":"hi"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream":"yes"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":"x"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream_options":{"include_usage":"yes"}}"#,
                "invalid_parameter",
            ),
        ];
        for (text, code) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.code(), code, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{"model":"m","messages":[],"x":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(parse(&deep).unwrap_err().code(), "invalid_json");
        let tricky_string = r#""[[[[\"{{""#;
        let fine = format!(
            r#"{{"model":"m","messages":[],"x":{}{tricky_string}{}}}"#,
            "[".repeat(120),
            "]".repeat(120)
        );
        assert!(parse(&fine).is_ok());
    }
}
