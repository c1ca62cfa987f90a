//! The embeddings request body: a string `model`, an `input` (a string, a
//! list of strings, a list of tokens, or a list of token lists),
//! `encoding_format` `float` or `base64`, a positive `dimensions`.
//!
//! Each input is an item with its own cache entry ([`Itemized`]): its key is
//! the request's fields with that input alone, leaving out
//! `encoding_format` (a vector is the same vector in either encoding: the
//! gateway stores floats and encodes base64 itself).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::body::{JsonBody, invalid};
use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::{Itemized, ParsedRequest};
use crate::wire::Wire;

/// A validated embeddings body, split into its items.
#[derive(Debug)]
pub struct EmbeddingsBody {
    body: JsonBody,
    model: String,
    items: Vec<Box<RawValue>>,
    /// `encoding_format: "base64"`.
    pub base64: bool,
}

impl EmbeddingsBody {
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        let items = items(body.field("input"))?;
        let base64 = match body.field("encoding_format") {
            None | Some("null") | Some("\"float\"") => false,
            Some("\"base64\"") => true,
            Some(_) => {
                return Err(invalid(
                    "encoding_format",
                    "`encoding_format` must be \"float\" or \"base64\"",
                ));
            }
        };
        if let Some(dimensions) = body.field("dimensions").filter(|d| *d != "null")
            && !dimensions.parse::<u32>().is_ok_and(|d| d > 0)
        {
            return Err(invalid(
                "dimensions",
                "`dimensions` must be a positive integer",
            ));
        }
        Ok(Self {
            body,
            model,
            items,
            base64,
        })
    }

    /// The body with `input` replaced by `input` and `encoding_format`
    /// left out.
    fn with_input(&self, input: Value) -> Bytes {
        let mut out = Map::new();
        for (name, value) in self.body.fields() {
            match name {
                "encoding_format" => {}
                "input" => {
                    out.insert(name.into(), input.clone());
                }
                _ => {
                    let value = serde_json::from_str(value.get()).unwrap_or(Value::Null);
                    out.insert(name.into(), value);
                }
            }
        }
        Bytes::from(Value::Object(out).to_string())
    }
}

/// The items of `input`: each string, each token list, or the one token
/// list it is.
fn items(input: Option<&str>) -> Result<Vec<Box<RawValue>>, AppError> {
    let bad = || {
        invalid(
            "input",
            "`input` must be a non-empty string, a list of non-empty strings, a list of \
             tokens or a list of token lists",
        )
    };
    let input = input.ok_or_else(|| invalid("input", "`input` is required"))?;
    let single = || RawValue::from_string(input.to_string()).map_err(|_| bad());
    if input.starts_with('"') {
        let text: String = serde_json::from_str(input).map_err(|_| bad())?;
        return match text.is_empty() {
            true => Err(bad()),
            false => Ok(vec![single()?]),
        };
    }
    let list: Vec<Box<RawValue>> = serde_json::from_str(input).map_err(|_| bad())?;
    if list.is_empty() {
        return Err(bad());
    }
    let is_token = |v: &RawValue| v.get().parse::<u64>().is_ok();
    let is_text =
        |v: &RawValue| serde_json::from_str::<String>(v.get()).is_ok_and(|t| !t.is_empty());
    let is_tokens = |v: &RawValue| {
        serde_json::from_str::<Vec<u64>>(v.get()).is_ok_and(|tokens| !tokens.is_empty())
    };
    if list.iter().all(|v| is_token(v)) {
        return Ok(vec![single()?]);
    }
    match list.iter().all(|v| is_text(v)) || list.iter().all(|v| is_tokens(v)) {
        true => Ok(list),
        false => Err(bad()),
    }
}

impl ParsedRequest for EmbeddingsBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        false
    }

    fn wants_stream_usage(&self) -> bool {
        false
    }

    fn raw(&self) -> &Bytes {
        self.body.raw()
    }

    fn key_fields(&self) -> Vec<(&str, Cow<'_, RawValue>)> {
        self.body
            .fields()
            .map(|(name, value)| (name, Cow::Borrowed(value)))
            .collect()
    }

    fn wire(&self) -> Wire {
        Wire::OpenAiEmbeddings
    }

    fn upstream_body(&self, upstream_model: &str, _ask_usage: bool) -> Bytes {
        self.body.for_upstream(&self.model, upstream_model, false)
    }

    fn hub_body(&self, _upstream_model: &str, _ask_usage: bool) -> Result<Bytes, AppError> {
        Err(AppError::Unsupported(
            "embeddings (/v1/embeddings) are served by OpenAI-compatible providers only \
             (Gemini's included, through its OpenAI-compatible endpoint)"
                .into(),
        ))
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.body.raw().clone(),
            estimate: estimate_input,
        }
    }

    fn itemized(&self) -> Option<&dyn Itemized> {
        Some(self)
    }
}

impl Itemized for EmbeddingsBody {
    fn count(&self) -> usize {
        self.items.len()
    }

    fn item_key_fields(&self, index: usize) -> Vec<(&str, Cow<'_, RawValue>)> {
        let mut fields = Vec::with_capacity(4);
        for (name, value) in self.body.fields() {
            match name {
                "encoding_format" => {}
                "input" => {
                    if let Some(item) = self.items.get(index) {
                        fields.push((name, Cow::Borrowed(item.as_ref())));
                    }
                }
                _ => fields.push((name, Cow::Borrowed(value))),
            }
        }
        fields
    }

    fn item_tokens(&self, model: &str, index: usize) -> u64 {
        let item = self.items.get(index).map_or("null", |item| item.get());
        count_input(model, &serde_json::from_str(item).unwrap_or(Value::Null))
    }

    fn subset(&self, indices: &[usize]) -> Result<Arc<dyn ParsedRequest>, AppError> {
        let items: Vec<Box<RawValue>> = indices
            .iter()
            .filter_map(|&i| self.items.get(i).cloned())
            .collect();
        let input = items
            .iter()
            .map(|item| serde_json::from_str(item.get()).unwrap_or(Value::Null))
            .collect();
        Ok(Arc::new(Self {
            body: JsonBody::parse(self.with_input(Value::Array(input)))?,
            model: self.model.clone(),
            items,
            base64: false,
        }))
    }
}

/// The input's tokens: texts counted, token lists by their length.
fn estimate_input(model: &str, body: &[u8]) -> u64 {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    count_input(model, &body["input"])
}

fn count_input(model: &str, input: &Value) -> u64 {
    match input {
        Value::String(text) => crate::tokens::count_text_tokens(model, text),
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(|item| count_input(model, item)).sum(),
        _ => 0,
    }
}
