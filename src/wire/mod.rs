//! The wire format of answers: what an upstream's answer is made of, how
//! to tell a complete one, where its usage is, and how its two forms (one
//! JSON body, or an SSE stream) convert into each other.
//!
//! The exchange between a dialect and an adapter is OpenAI chat
//! completions ([`openai_chat`]): adapters hand the pipeline answers in it,
//! dialects render it for their clients, and the pipeline looks into it only
//! through [`Wire`]. This sits below both sides, so neither depends on the
//! other.

pub mod anthropic;
pub mod embeddings;
pub mod errors;
pub mod gemini;
pub mod hub;
pub mod openai_chat;
pub mod openai_completions;
pub mod probe;
pub mod responses;

use axum::http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::error::ErrorShape;
use crate::tokens::Usage;

/// How an answer's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    /// One JSON object.
    Json,
    /// `text/event-stream`.
    Sse,
}

/// JSON or SSE, from a content type.
pub fn body_kind(content_type: Option<&HeaderValue>) -> Option<BodyKind> {
    let value = content_type?
        .to_str()
        .ok()?
        .trim_start()
        .to_ascii_lowercase();
    if value.starts_with("text/event-stream") {
        Some(BodyKind::Sse)
    } else if value.starts_with("application/json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// Why an answer is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Uncacheable {
    #[error("the upstream status is not 2xx")]
    Status,
    #[error("the body is not valid JSON")]
    NotJson,
    #[error("the body carries an error object")]
    ErrorObject,
    #[error("the answer has no content (no choices, candidates or output)")]
    NoChoices,
    #[error("the stream ended without [DONE] or a finish reason")]
    Incomplete,
    #[error("the stream broke off")]
    Cut,
    #[error("the answer is larger than cache.max_entry_bytes")]
    TooLarge,
    #[error("the content type is neither JSON nor an event stream")]
    ContentType,
}

/// An API's format on the wire: what a request is written in and what its
/// answers come in. Stored with every cache entry (`wire` in its metadata),
/// so a hit is decoded the way it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Wire {
    /// OpenAI chat completions (`chat.completion`, `chat.completion.chunk`):
    /// the exchange's own.
    #[default]
    #[serde(rename = "openai_chat")]
    OpenAiChat,
    /// Anthropic Messages (`message`, named events).
    #[serde(rename = "anthropic_messages")]
    AnthropicMessages,
    /// Gemini `generateContent` (`GenerateContentResponse` objects).
    #[serde(rename = "gemini")]
    Gemini,
    /// OpenAI Responses (`response`, named events).
    #[serde(rename = "openai_responses")]
    OpenAiResponses,
    /// OpenAI legacy completions (`text_completion`).
    #[serde(rename = "openai_completions")]
    OpenAiCompletions,
    /// OpenAI embeddings (`list` of `embedding`).
    #[serde(rename = "openai_embeddings")]
    OpenAiEmbeddings,
    /// Anthropic's token counting (`{"input_tokens": N}`).
    #[serde(rename = "anthropic_count_tokens")]
    AnthropicCountTokens,
}

impl Wire {
    /// The endpoint it is served at, as messages name it.
    pub fn endpoint_name(self) -> &'static str {
        match self {
            Self::OpenAiChat => "/v1/chat/completions",
            Self::AnthropicMessages => "/v1/messages",
            Self::Gemini => "generateContent",
            Self::OpenAiResponses => "/v1/responses",
            Self::OpenAiCompletions => "/v1/completions",
            Self::OpenAiEmbeddings => "/v1/embeddings",
            Self::AnthropicCountTokens => "/v1/messages/count_tokens",
        }
    }

    /// The shape of its error bodies; `None` for one no client reads
    /// (Gemini's: its errors are always rewritten).
    pub fn error_shape(self) -> Option<ErrorShape> {
        match self {
            Self::AnthropicMessages | Self::AnthropicCountTokens => Some(ErrorShape::Anthropic),
            Self::Gemini => None,
            _ => Some(ErrorShape::OpenAi),
        }
    }

    /// Checks a complete body before it is stored; on success, the usage
    /// it reports.
    pub fn check(
        self,
        kind: BodyKind,
        body: &[u8],
    ) -> Result<Option<serde_json::Value>, Uncacheable> {
        match self {
            Self::OpenAiChat => openai_chat::check(kind, body),
            Self::Gemini => gemini::check(kind, body),
            Self::OpenAiResponses => responses::check(kind, body),
            Self::AnthropicMessages => anthropic::check(kind, body),
            // Legacy completions follow chat's rules: `choices` with a
            // finish reason, `[DONE]`, the same `usage`.
            Self::OpenAiCompletions => openai_chat::check(kind, body),
            Self::OpenAiEmbeddings => embeddings::check(kind, body),
            Self::AnthropicCountTokens => count_check(kind, body),
        }
    }

    /// A reader of the usage in a body of `kind` as it passes;
    /// `gather_text` when none is expected (for an estimate).
    pub fn probe(self, kind: BodyKind, gather_text: bool) -> Box<dyn probe::Probe> {
        match self {
            Self::OpenAiChat => Box::new(openai_chat::UsageProbe::new(kind, gather_text)),
            Self::Gemini => Box::new(gemini::UsageProbe::new(kind, gather_text)),
            Self::OpenAiResponses => Box::new(responses::UsageProbe::new(kind, gather_text)),
            Self::AnthropicMessages => Box::new(anthropic::UsageProbe::new(kind, gather_text)),
            Self::OpenAiCompletions | Self::OpenAiEmbeddings | Self::AnthropicCountTokens => {
                Box::new(openai_chat::UsageProbe::new(kind, gather_text))
            }
        }
    }

    /// The usage of a stored answer's `usage` value.
    pub fn stored_usage(self, value: &serde_json::Value) -> Option<Usage> {
        match self {
            Self::OpenAiChat | Self::OpenAiCompletions | Self::OpenAiEmbeddings => {
                openai_chat::usage_from_value(value)
            }
            Self::AnthropicCountTokens => None,
            Self::Gemini => gemini::usage_from_value(value),
            Self::OpenAiResponses => responses::usage_from_value(value),
            Self::AnthropicMessages => anthropic::usage_from_value(value),
        }
    }
}

/// A count-tokens answer is complete when it is JSON with a number of
/// `input_tokens`; it reports no usage (counting is free).
fn count_check(kind: BodyKind, body: &[u8]) -> Result<Option<serde_json::Value>, Uncacheable> {
    if kind != BodyKind::Json {
        return Err(Uncacheable::ContentType);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
    match value
        .get("input_tokens")
        .and_then(serde_json::Value::as_u64)
    {
        Some(_) => Ok(None),
        None => Err(Uncacheable::ErrorObject),
    }
}
