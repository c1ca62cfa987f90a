//! The Anthropic adapter: Anthropic's own Messages API.
//!
//! Messages requests go as they came to `{base_url}/messages`; chat
//! requests in the exchange's form are written as Messages requests first
//! ([`messages_request`]); nothing else has a counterpart here. The key
//! goes in `x-api-key`, and `anthropic-version: 2023-06-01` is sent (a
//! client's own `anthropic-version` and `anthropic-beta`, forwarded, go on
//! top and win). Answers come back in the Messages wire, decoded by
//! [`crate::wire::anthropic`].

mod content;
mod messages;
mod request;

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

pub use request::messages_request;

use super::{Adapter, Outbound, Prepared, bare_key, joined, unsupported};
use crate::config::ProviderKind;
use crate::error::AppError;
use crate::wire::Wire;

/// The Messages API version llm-bridge writes.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An Anthropic provider: its URL and the `max_tokens` for requests that
/// name none.
#[derive(Debug)]
pub struct Anthropic {
    messages_url: reqwest::Url,
    count_tokens_url: reqwest::Url,
    default_max_tokens: u32,
}

impl Anthropic {
    /// The adapter for a provider at `base_url` (ending in `/v1`).
    pub fn new(base_url: &reqwest::Url, default_max_tokens: u32) -> Self {
        Self {
            messages_url: joined(base_url, "messages"),
            count_tokens_url: joined(base_url, "messages/count_tokens"),
            default_max_tokens,
        }
    }
}

impl Adapter for Anthropic {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn speaks(&self, wire: Wire) -> bool {
        matches!(wire, Wire::AnthropicMessages | Wire::AnthropicCountTokens)
    }

    fn prepare(&self, outbound: Outbound) -> Result<Prepared, AppError> {
        let (url, answers) = match outbound.wire {
            Wire::AnthropicCountTokens => (&self.count_tokens_url, Wire::AnthropicCountTokens),
            _ => (&self.messages_url, Wire::AnthropicMessages),
        };
        let body = match outbound.wire {
            Wire::AnthropicMessages | Wire::AnthropicCountTokens => outbound.body,
            Wire::OpenAiChat => {
                let chat: Value = serde_json::from_slice(&outbound.body).map_err(|e| {
                    AppError::InvalidJson(format!("request body is not valid JSON: {e}"))
                })?;
                let request = messages_request(
                    &chat,
                    &outbound.model,
                    outbound.stream,
                    self.default_max_tokens,
                )?;
                // Serialising a value into a Vec cannot fail.
                Bytes::from(serde_json::to_vec(&request).unwrap_or_default())
            }
            other => return Err(unsupported(ProviderKind::Anthropic, other)),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        Ok(Prepared {
            url: url.clone(),
            body,
            headers,
            answers,
        })
    }

    fn forwards(&self, name: &HeaderName) -> bool {
        name.as_str().starts_with("anthropic-")
    }

    fn authorize(&self, headers: &mut HeaderMap, authorization: HeaderValue) {
        headers.remove(header::AUTHORIZATION);
        if let Some(key) = bare_key(&authorization) {
            headers.insert(HeaderName::from_static("x-api-key"), key);
        }
    }
}

#[cfg(test)]
mod tests;
