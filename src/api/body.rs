//! A JSON request body parsed once, shallowly, the way every dialect
//! reads its requests: the top level split into fields whose values stay
//! as the client wrote them ([`RawValue`]), so a body can go upstream with
//! nothing changed but `model` (and, for a stream, the usage asked for),
//! and a body whose model needs no rewrite goes as the very bytes received.
//! Nesting deeper than [`MAX_DEPTH`] is refused up front: no real request
//! comes close, and it keeps every later parse (ours or an upstream's) far
//! from its recursion limit. Duplicate top-level keys are refused: the
//! gateway and the upstream could otherwise read different models from one
//! body.

use std::fmt;

use axum::body::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::AppError;

/// Deepest nesting of arrays and objects accepted, the same bound serde_json
/// applies when it builds a value.
pub const MAX_DEPTH: usize = 128;

/// A request body split into its top-level fields.
#[derive(Debug)]
pub struct JsonBody {
    raw: Bytes,
    fields: Vec<(String, Box<RawValue>)>,
}

/// `stream_options` as far as the gateway reads it; other members pass
/// through untouched.
#[derive(serde::Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl JsonBody {
    /// Parses the body: a JSON object, not nested too deep, without
    /// duplicate keys.
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        if nesting_exceeds(&raw, MAX_DEPTH) {
            return Err(AppError::InvalidJson(format!(
                "request body is nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let TopLevel(fields) = serde_json::from_slice(&raw)
            .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))?;
        Ok(Self { raw, fields })
    }

    /// The body as received.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// A top-level field's JSON text, as written.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.get())
    }

    /// Top-level fields in the order written, values as written.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_ref()))
    }

    /// The whole body as a value, for a dialect that translates it.
    pub fn value(&self) -> Result<Value, AppError> {
        serde_json::from_slice(&self.raw)
            .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))
    }

    /// The required `model`: a non-empty string.
    pub fn model(&self) -> Result<String, AppError> {
        match self.field("model").map(serde_json::from_str::<String>) {
            Some(Ok(model)) if !model.trim().is_empty() => Ok(model),
            Some(_) => Err(invalid("model", "`model` must be a non-empty string")),
            None => Err(invalid("model", "`model` is required")),
        }
    }

    /// A boolean field (absent or `null`: false).
    pub fn flag(&self, name: &'static str) -> Result<bool, AppError> {
        match self.field(name) {
            None | Some("null") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid(name, &format!("`{name}` must be true or false"))),
        }
    }

    /// `stream_options.include_usage`, the object checked.
    pub fn include_usage(&self) -> Result<bool, AppError> {
        match self.field("stream_options") {
            None | Some("null") => Ok(false),
            // serde reads a struct from an array too; only an object is one.
            Some(v) => Ok(serde_json::from_str::<StreamOptions>(v)
                .ok()
                .filter(|_| v.starts_with('{'))
                .ok_or_else(|| {
                    invalid(
                        "stream_options",
                        "`stream_options` must be an object such as {\"include_usage\": true}",
                    )
                })?
                .include_usage
                .unwrap_or(false)),
        }
    }

    /// The body to send upstream: unchanged when `upstream_model` is
    /// `model` and no usage is to be asked for, otherwise the same fields
    /// with `model` replaced and, with `ask_usage`,
    /// `stream_options.include_usage` set (other stream options kept).
    pub fn for_upstream(&self, model: &str, upstream_model: &str, ask_usage: bool) -> Bytes {
        if upstream_model == model && !ask_usage {
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

/// A translated body (a value) with `model` set, as bytes.
pub fn with_model(mut body: Value, upstream_model: &str) -> Bytes {
    if let Some(object) = body.as_object_mut() {
        object.insert("model".into(), Value::String(upstream_model.to_string()));
    }
    // Serialising a value into a Vec cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

pub use crate::error::invalid;

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
