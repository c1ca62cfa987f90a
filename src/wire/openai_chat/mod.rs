//! OpenAI chat completions on the wire, the exchange every answer passes
//! through: when an answer is complete ([`check`]), where its usage is
//! ([`UsageProbe`], [`usage_from_value`]), keeping its usage-only chunk
//! from a client that did not ask ([`UsageFilter`]), and its two forms
//! converted into each other ([`completion_to_chunks`],
//! [`chunks_to_completion`]).
//!
//! # The exchange's conventions
//! Requests in the exchange are OpenAI chat completions bodies; answers
//! are `chat.completion` objects or `chat.completion.chunk` events ending
//! with `data: [DONE]`. What translation needs beyond OpenAI's own fields
//! rides on conventions other gateways and providers already use, plus a
//! few of llm-bridge's own:
//! - an assistant message, a delta or a message in an answer may carry
//!   `reasoning_content` (its thinking, as DeepSeek and vLLM write it) and
//!   `reasoning_signature` (llm-bridge's: the signature of that thinking,
//!   from Anthropic, to send back);
//! - a tool call may carry `extra_content.google.thought_signature`
//!   (Gemini's OpenAI-compatible field), echoed back on later turns;
//! - a content part or a message may carry `cache_control` (Anthropic's
//!   prompt-cache breakpoint), kept for Anthropic upstreams;
//! - usage carries `prompt_tokens` (every input token),
//!   `prompt_tokens_details.cached_tokens` / `cache_write_tokens` /
//!   `cache_write_1h_tokens` and `completion_tokens_details.reasoning_tokens`;
//! - `finish_reason` is `stop`, `length`, `tool_calls` or `content_filter`.
//!
//! The OpenAI-compatible adapter removes llm-bridge's own fields
//! (`reasoning_signature`, `cache_control`) from a body a dialect
//! translated, so an OpenAI-compatible server never sees them.

mod convert;
mod filter;
mod probe;
mod usage;
mod validate;

use serde_json::Value;

pub use convert::{chunks_to_completion, completion_to_chunks};
pub use filter::{UsageFilter, without_usage_events};
pub use probe::{MAX_JSON_BYTES, MAX_TEXT_BYTES, UsageProbe};
pub use usage::usage_from_value;
pub use validate::check;

/// Whether an SSE event's data is a usage-only chunk: empty `choices` and a
/// `usage`, what a provider adds for `stream_options.include_usage`.
pub fn is_usage_only(data: &str) -> bool {
    serde_json::from_str::<Value>(data).is_ok_and(|chunk| {
        chunk.get("usage").is_some_and(|u| !u.is_null())
            && chunk
                .get("choices")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
    })
}
