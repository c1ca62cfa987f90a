//! OpenAI Responses on the wire, as an upstream that speaks it answers
//! (passed through to Responses clients untranslated): when an answer is
//! complete ([`check`]), where its usage is ([`UsageProbe`],
//! [`usage_from_value`]), and its two forms — one `response` object, or
//! its stream of named events — converted into each other
//! ([`events_to_response`], [`response_to_events`]).
//!
//! A Responses stream has no `[DONE]`: it ends with `response.completed`,
//! `response.incomplete` or `response.failed`, whose `response` is the
//! whole answer, usage included (the only place a stream reports it).
//! [`EventWriter`] writes such streams, here and for the Responses dialect
//! rendering answers of other wires.

mod convert;
mod events;
mod probe;
mod usage;
mod validate;

pub use convert::{events_to_response, response_to_events};
pub use events::{EventWriter, Place, item_events};
pub use probe::UsageProbe;
pub use usage::{usage_from_value, usage_value};
pub use validate::check;

/// The event types that end a stream with its whole `response`.
pub const FINAL_EVENTS: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];
