//! Gemini `generateContent` answers on the wire: when one is complete
//! ([`check`]), where its usage is ([`UsageProbe`], [`usage_from_value`]),
//! and how it becomes the exchange's chat form ([`to_chat_completion`] for
//! a `GenerateContentResponse`, [`ToChatStream`] for the events of
//! `:streamGenerateContent?alt=sse`).
//!
//! What is stored is what Gemini sent; the translation runs when an answer
//! is served, and is deterministic (made-up tool-call ids included), so a
//! replayed entry reads the same as the first time.
//!
//! Gemini streams carry no `[DONE]`: the last event has a `finishReason`.
//! `usageMetadata` may come with every event and is cumulative, so the last
//! one is the answer's usage (never a sum).

mod chat;
mod parts;
mod probe;
mod stream;
mod usage;

use serde_json::Value;

use crate::stream::sse::payloads;
use crate::wire::{BodyKind, Uncacheable};

pub use chat::to_chat_completion;
pub use parts::MADE_UP_ID_PREFIX;
pub use probe::UsageProbe;
pub use stream::ToChatStream;
pub use usage::{chat_usage, usage_from_value};

/// The exchange's `finish_reason` for a Gemini `finishReason`.
///
/// A tool call ends with `STOP` at Gemini, so `has_calls` turns it into
/// `tool_calls`. `MAX_TOKENS` is `length`; the blocking reasons are
/// `content_filter`. The rest (`LANGUAGE`, `OTHER`,
/// `MALFORMED_FUNCTION_CALL`, `FINISH_REASON_UNSPECIFIED`, anything new)
/// have no counterpart and read as `stop`.
pub fn finish_reason(gemini: &str, has_calls: bool) -> &'static str {
    match gemini {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        _ if has_calls => "tool_calls",
        _ => "stop",
    }
}

/// Checks a complete body before it is stored; on success, its last
/// `usageMetadata`.
pub fn check(kind: BodyKind, body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    match kind {
        BodyKind::Json => {
            let value: Value = serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
            let response = Response::read(&value)?;
            if !response.any_candidate {
                return Err(Uncacheable::NoChoices);
            }
            Ok(response.usage.cloned())
        }
        BodyKind::Sse => check_sse(body),
    }
}

fn check_sse(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    let mut any_candidate = false;
    let mut finished = false;
    let mut usage = None;
    for data in payloads(body) {
        if data.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&data).map_err(|_| Uncacheable::NotJson)?;
        let response = Response::read(&value)?;
        any_candidate |= response.any_candidate;
        finished |= response.finished;
        if let Some(found) = response.usage {
            usage = Some(found.clone());
        }
    }
    if !any_candidate {
        return Err(Uncacheable::NoChoices);
    }
    if !finished {
        return Err(Uncacheable::Incomplete);
    }
    Ok(usage)
}

/// What [`check`] needs of one `GenerateContentResponse`.
struct Response<'a> {
    any_candidate: bool,
    finished: bool,
    usage: Option<&'a Value>,
}

impl<'a> Response<'a> {
    fn read(value: &'a Value) -> Result<Self, Uncacheable> {
        if value.get("error").is_some_and(|e| !e.is_null()) {
            return Err(Uncacheable::ErrorObject);
        }
        let candidates = value
            .get("candidates")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(Self {
            any_candidate: !candidates.is_empty(),
            finished: candidates
                .iter()
                .any(|c| c.get("finishReason").is_some_and(Value::is_string)),
            usage: value.get("usageMetadata").filter(|u| u.is_object()),
        })
    }
}

#[cfg(test)]
mod tests;
