//! Anthropic Messages answers on the wire: when one is complete and
//! storable ([`check`]), where its usage is ([`UsageProbe`],
//! [`usage_from_value`]), and how it reads in the exchange's form
//! ([`to_chat_completion`] for a `message`, [`ToChatStream`] for its event
//! stream), and its two forms converted into each other ([`forms`], for
//! a Messages client whose hit is in the other form).
//!
//! Anthropic's `usage.input_tokens` leaves out the tokens read from and
//! written to its prompt cache, where the exchange's `prompt_tokens` counts
//! every input token; so everywhere here prompt tokens are
//! `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`
//! and the cached reads are `cache_read_input_tokens`.
//!
//! What this module does not own: the requests sent to Anthropic
//! (`crate::upstream::adapters::anthropic`), and answers rendered for a
//! client of the Messages API (the dialect's).

mod check;
mod decode;
pub mod forms;
mod probe;
mod stream;
mod usage;

pub use check::check;
pub use decode::to_chat_completion;
pub use probe::UsageProbe;
pub use stream::ToChatStream;
pub use usage::usage_from_value;

/// The exchange's `finish_reason` for an Anthropic `stop_reason`.
///
/// `pause_turn` (a server-tool loop stopped at its limit) becomes `stop`:
/// the exchange has no "continue me" reason, and `stop` is what a client
/// sees for a turn that ended without its fault; a client that cares sends
/// the turn back to continue it. `null` (no reason given) is a plain stop;
/// an unknown future reason is too, rather than failing the answer.
fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}
