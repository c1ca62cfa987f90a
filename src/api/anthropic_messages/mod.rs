//! Anthropic Messages, inbound: `POST /v1/messages` (Claude Code, the
//! Anthropic SDKs).
//!
//! The body is parsed once, shallowly ([`body`]). To an Anthropic upstream
//! it goes as it came (only `model` rewritten) and its answers pass
//! untouched, whole answers converted between JSON and SSE when a hit or a
//! shared flight has the other form ([`crate::wire::anthropic::forms`]).
//! To any other upstream it goes in the exchange's form ([`request`]), and
//! the exchange's answers are rendered back as Messages answers
//! ([`render`] for a JSON one; [`stream`] event by event for a stream,
//! live or stored, so a stored stream keeps what only its chunks carry,
//! such as a thinking signature). Claude Code's per-request
//! billing line is left out of the cache key and of translations
//! ([`billing`]).

mod billing;
mod body;
mod render;
mod request;
mod stream;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

pub use billing::without_billing_line;
pub use body::MessagesBody;
pub use render::render_message;
pub use request::to_chat_request;
pub use stream::ToMessagesStream;

use crate::caller::Caller;
use crate::error::{AppError, ErrorShape};
use crate::notes::NoteSlot;
use crate::pipeline::{self, Answered, Dialect, Exchange, Incoming, Pipeline, ReplyForm};
use crate::stream::Chunk;
use crate::stream::transcode::{Transcoded, whole as transcode_whole};
use crate::wire::anthropic::forms::{events_to_message, message_to_events};
use crate::wire::{BodyKind, Wire, hub};

/// The Messages dialect.
#[derive(Debug)]
pub struct AnthropicMessages;

/// `POST /v1/messages`.
pub async fn messages(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let request = MessagesBody::parse(body)?;
    let incoming = Incoming {
        caller,
        slot,
        headers,
        started,
    };
    let exchange = Exchange {
        request: Arc::new(request),
        dialect: Arc::new(AnthropicMessages),
    };
    pipeline::serve(&pipeline, incoming, exchange).await
}

impl Dialect for AnthropicMessages {
    fn endpoint(&self) -> &'static str {
        "messages"
    }

    fn native(&self) -> Wire {
        Wire::AnthropicMessages
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::Anthropic
    }

    fn stream(
        &self,
        answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        _form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        if answer.wire == Wire::AnthropicMessages {
            return chunks;
        }
        let chunks = hub::stream(answer.wire, answer.model, chunks);
        let renderer = Box::new(ToMessagesStream::new(answer.model));
        Transcoded::new(chunks, renderer).boxed()
    }

    fn whole(
        &self,
        answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        form: ReplyForm,
    ) -> (BodyKind, Bytes) {
        if answer.wire == Wire::AnthropicMessages {
            return native_whole(kind, body, form);
        }
        let body = hub::whole(answer.wire, answer.model, kind, body);
        match kind {
            BodyKind::Json => {
                let completion = serde_json::from_slice(&body).unwrap_or_default();
                in_form(&render_message(&completion, answer.model), form)
            }
            // Rendered the way a live stream is, so what a chunk carries
            // beyond a completion's fields (a thinking signature) is kept.
            BodyKind::Sse => {
                let renderer = Box::new(ToMessagesStream::new(answer.model));
                let events = transcode_whole(renderer, &body);
                match form.stream {
                    true => (BodyKind::Sse, events),
                    false => in_form(&events_to_message(&events), form),
                }
            }
        }
    }
}

/// A whole Anthropic answer in the client's form.
fn native_whole(kind: BodyKind, body: &Bytes, form: ReplyForm) -> (BodyKind, Bytes) {
    match (kind, form.stream) {
        (BodyKind::Json, false) | (BodyKind::Sse, true) => (kind, body.clone()),
        (BodyKind::Json, true) => {
            let message: Value = serde_json::from_slice(body).unwrap_or_default();
            in_form(&message, form)
        }
        (BodyKind::Sse, false) => in_form(&events_to_message(body), form),
    }
}

/// A `message` as JSON, or as its events for a streaming client.
fn in_form(message: &Value, form: ReplyForm) -> (BodyKind, Bytes) {
    match form.stream {
        true => (BodyKind::Sse, Bytes::from(message_to_events(message))),
        false => (BodyKind::Json, Bytes::from(message.to_string())),
    }
}

#[cfg(test)]
mod tests;
