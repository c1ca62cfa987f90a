//! The Messages request body: parsed once, shallowly ([`JsonBody`]), and
//! checked as Anthropic checks it (a non-empty string `model`, an array
//! `messages`, a positive integer `max_tokens`, a boolean `stream`).
//!
//! It goes to an Anthropic upstream as it came (only `model` rewritten),
//! and to any other in the exchange's form ([`to_chat_request`]). The cache
//! key reads every field as written, except the system prompt without
//! Claude Code's billing line ([`without_billing_line`]).

use std::borrow::Cow;

use axum::body::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

use super::billing::without_billing_line;
use super::request::to_chat_request;
use crate::api::body::{JsonBody, invalid, with_model};
use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::ParsedRequest;
use crate::tokens::openai_chat::estimate_prompt_tokens;
use crate::wire::Wire;

/// A validated Messages body.
#[derive(Debug)]
pub struct MessagesBody {
    body: JsonBody,
    model: String,
    stream: bool,
    /// `system` without the billing line, when it had one: what the cache
    /// key reads instead.
    keyed_system: Option<Box<RawValue>>,
}

impl MessagesBody {
    /// Parses and validates the body.
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        match body.field("messages") {
            Some(v) if v.starts_with('[') => {}
            Some(_) => return Err(invalid("messages", "`messages` must be an array")),
            None => return Err(invalid("messages", "`messages` is required")),
        }
        match body.field("max_tokens").map(serde_json::from_str::<u64>) {
            Some(Ok(n)) if n > 0 => {}
            Some(_) => {
                return Err(invalid(
                    "max_tokens",
                    "`max_tokens` must be a positive integer",
                ));
            }
            None => return Err(invalid("max_tokens", "`max_tokens` is required")),
        }
        let stream = body.flag("stream")?;
        let keyed_system = body
            .field("system")
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|system| without_billing_line(&system))
            .and_then(|system| RawValue::from_string(system.to_string()).ok());
        Ok(Self {
            body,
            model,
            stream,
            keyed_system,
        })
    }

    /// The request in the exchange's form, `model` still the client's.
    fn chat_request(&self) -> Result<Value, AppError> {
        to_chat_request(&self.body.value()?)
    }
}

impl ParsedRequest for MessagesBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        self.stream
    }

    /// Messages has no such option: its streams always carry usage.
    fn wants_stream_usage(&self) -> bool {
        false
    }

    fn raw(&self) -> &Bytes {
        self.body.raw()
    }

    fn key_fields(&self) -> Vec<(&str, Cow<'_, RawValue>)> {
        self.body
            .fields()
            .map(|(name, value)| match (name, &self.keyed_system) {
                ("system", Some(system)) => (name, Cow::Owned(system.clone())),
                _ => (name, Cow::Borrowed(value)),
            })
            .collect()
    }

    fn wire(&self) -> Wire {
        Wire::AnthropicMessages
    }

    fn upstream_body(&self, upstream_model: &str, _ask_usage: bool) -> Bytes {
        // An Anthropic stream reports its usage unasked.
        self.body.for_upstream(&self.model, upstream_model, false)
    }

    fn hub_body(&self, upstream_model: &str, ask_usage: bool) -> Result<Bytes, AppError> {
        let mut chat = self.chat_request()?;
        if ask_usage
            && self.stream
            && let Some(object) = chat.as_object_mut()
        {
            object.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true}),
            );
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

/// Estimated prompt tokens of a Messages body: those of its chat form; of
/// the body as it is when it has none (a document, a server tool), since
/// chat's counting reads Anthropic's text blocks alike.
fn estimate_body(model: &str, body: &[u8]) -> u64 {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    match to_chat_request(&value) {
        Ok(chat) => estimate_prompt_tokens(model, &chat),
        Err(_) => estimate_prompt_tokens(model, &value),
    }
}

#[cfg(test)]
mod tests;
