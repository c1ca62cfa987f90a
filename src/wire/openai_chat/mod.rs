//! OpenAI chat completions on the wire, the exchange every answer passes
//! through: when an answer is complete ([`check`]), where its usage is
//! ([`UsageProbe`], [`usage_from_value`]), keeping its usage-only chunk
//! from a client that did not ask ([`UsageFilter`]), and its two forms
//! converted into each other ([`completion_to_chunks`],
//! [`chunks_to_completion`]).

mod convert;
mod filter;
mod probe;
mod usage;
mod validate;

use serde_json::Value;

pub use convert::{chunks_to_completion, completion_to_chunks};
pub use filter::{UsageFilter, without_usage_events};
pub use probe::{MAX_JSON_BYTES, MAX_TEXT_BYTES, Probed, UsageProbe};
pub use usage::usage_from_value;
pub use validate::{Uncacheable, check};

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
