//! The Responses request body: parsed once, shallowly ([`JsonBody`]), and
//! checked (a string `model`, `input` a string or an array, a boolean
//! `stream`).
//!
//! llm-bridge keeps no responses, so the API's stateful features are
//! refused with a 400 naming the field: `store: true` (the API's default
//! is true, but the OpenAI SDKs send `store` only when it is set, so an
//! absent `store` is read as false), `previous_response_id`,
//! `conversation` and `background: true`. The whole conversation goes in
//! `input` instead.

use std::borrow::Cow;

use axum::body::Bytes;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::request::to_chat_request;
use crate::api::body::{JsonBody, invalid, with_model};
use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::ParsedRequest;
use crate::wire::Wire;

/// A validated Responses body.
#[derive(Debug)]
pub struct ResponsesBody {
    body: JsonBody,
    model: String,
    stream: bool,
}

impl ResponsesBody {
    /// Parses and validates the body.
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        match body.field("input") {
            Some(v) if v.starts_with('[') || v.starts_with('"') => {}
            Some(_) => {
                return Err(invalid(
                    "input",
                    "`input` must be a string or an array of items",
                ));
            }
            None => return Err(invalid("input", "`input` is required")),
        }
        let stream = body.flag("stream")?;
        if body.flag("store")? {
            return Err(invalid(
                "store",
                "llm-bridge keeps no responses: send `store: false` or leave `store` out",
            ));
        }
        for param in ["previous_response_id", "conversation"] {
            if body.field(param).is_some_and(|v| v != "null") {
                return Err(invalid(
                    param,
                    &format!(
                        "llm-bridge keeps no responses, so `{param}` cannot be used: send the \
                         whole conversation in `input`"
                    ),
                ));
            }
        }
        if body.flag("background")? {
            return Err(invalid(
                "background",
                "llm-bridge keeps no responses, so `background: true` cannot be used",
            ));
        }
        Ok(Self {
            body,
            model,
            stream,
        })
    }

    /// The whole body as a value (for the dialect's echo of it).
    pub fn value(&self) -> Value {
        self.body.value().unwrap_or_default()
    }
}

impl ParsedRequest for ResponsesBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        self.stream
    }

    /// Responses streams always carry their usage (in the final event).
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
        Wire::OpenAiResponses
    }

    /// As received but for `model`: a Responses upstream reports a
    /// stream's usage unasked.
    fn upstream_body(&self, upstream_model: &str, _ask_usage: bool) -> Bytes {
        self.body.for_upstream(&self.model, upstream_model, false)
    }

    fn hub_body(&self, upstream_model: &str, ask_usage: bool) -> Result<Bytes, AppError> {
        let mut chat = to_chat_request(&self.body.value()?)?;
        if ask_usage && self.stream {
            chat["stream_options"] = json!({"include_usage": true});
        }
        Ok(with_model(chat, upstream_model))
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.body.raw().clone(),
            estimate: estimate_body,
        }
    }
}

/// Estimated prompt tokens of a Responses body: those of its chat
/// translation (0 when it has none).
fn estimate_body(model: &str, body: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| to_chat_request(&body).ok())
        .map_or(0, |chat| {
            crate::tokens::openai_chat::estimate_prompt_tokens(model, &chat)
        })
}
