//! OpenAI chat completions, inbound: `POST /v1/chat/completions`.
//!
//! The exchange's own format, so both directions are light: the body is
//! parsed once, shallowly ([`body`]), and goes upstream as it came (only
//! `model` rewritten, and a stream's `stream_options.include_usage` set
//! when the gateway asks for usage the client did not); answers are
//! relayed as they arrive, the usage-only chunk kept from a client that did
//! not ask for it, and whole answers converted between JSON and SSE when a
//! hit or a shared flight has the other form.

mod body;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use futures::stream::BoxStream;

pub use body::ChatBody;

use crate::caller::Caller;
use crate::error::{AppError, ErrorShape};
use crate::notes::NoteSlot;
use crate::pipeline::{self, Answered, Dialect, Exchange, Incoming, Pipeline, ReplyForm};
use crate::stream::Chunk;
use crate::wire::openai_chat::{
    UsageFilter, chunks_to_completion, completion_to_chunks, without_usage_events,
};
use crate::wire::{BodyKind, Wire, hub};

/// The chat-completions dialect.
#[derive(Debug)]
pub struct OpenAiChat;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let chat = ChatBody::parse(body)?;
    let incoming = Incoming {
        caller,
        slot,
        headers,
        started,
    };
    let exchange = Exchange {
        request: Arc::new(chat),
        dialect: Arc::new(OpenAiChat),
    };
    pipeline::serve(&pipeline, incoming, exchange).await
}

impl Dialect for OpenAiChat {
    fn endpoint(&self) -> &'static str {
        "chat/completions"
    }

    fn native(&self) -> Wire {
        Wire::OpenAiChat
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::OpenAi
    }

    fn stream(
        &self,
        answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        let chunks = hub::stream(answer.wire, answer.model, chunks);
        match form.stream && !form.include_usage {
            true => UsageFilter::new(chunks).boxed(),
            false => chunks,
        }
    }

    fn whole(
        &self,
        answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        form: ReplyForm,
    ) -> (BodyKind, Bytes) {
        let body = &hub::whole(answer.wire, answer.model, kind, body);
        match (kind, form.stream) {
            (BodyKind::Sse, true) if form.include_usage => (BodyKind::Sse, body.clone()),
            (BodyKind::Sse, true) => (BodyKind::Sse, without_usage_events(body)),
            (BodyKind::Json, false) => (BodyKind::Json, body.clone()),
            (BodyKind::Json, true) => {
                let completion = serde_json::from_slice(body).unwrap_or_default();
                let chunks = completion_to_chunks(&completion, form.include_usage);
                (BodyKind::Sse, Bytes::from(chunks))
            }
            (BodyKind::Sse, false) => {
                let completion = chunks_to_completion(body).to_string();
                (BodyKind::Json, Bytes::from(completion))
            }
        }
    }
}
