//! OpenAI legacy text completions, inbound: `POST /v1/completions`.
//!
//! Served by OpenAI-compatible providers only (Anthropic's and Gemini's
//! APIs have no counterpart, so such a model is 400
//! `unsupported_by_provider`). The body goes upstream as it came, `model`
//! rewritten; answers are relayed as they arrive, cached like chat's, and
//! converted between JSON and SSE when a hit or a shared flight has the
//! other form. As in chat, a stream's usage chunk reaches only a client
//! that asked for it.

mod body;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use futures::stream::BoxStream;

pub use body::CompletionsBody;

use crate::caller::Caller;
use crate::error::{AppError, ErrorShape};
use crate::notes::NoteSlot;
use crate::pipeline::{self, Answered, Dialect, Exchange, Incoming, Pipeline, ReplyForm};
use crate::stream::Chunk;
use crate::wire::openai_chat::{UsageFilter, without_usage_events};
use crate::wire::openai_completions::{chunks_to_completion, completion_to_chunks};
use crate::wire::{BodyKind, Wire};

/// The legacy completions dialect.
#[derive(Debug)]
pub struct OpenAiCompletions;

/// `POST /v1/completions`.
pub async fn completions(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let request = CompletionsBody::parse(body)?;
    let incoming = Incoming {
        caller,
        slot,
        headers,
        started,
    };
    let exchange = Exchange {
        request: Arc::new(request),
        dialect: Arc::new(OpenAiCompletions),
    };
    pipeline::serve(&pipeline, incoming, exchange).await
}

impl Dialect for OpenAiCompletions {
    fn endpoint(&self) -> &'static str {
        "completions"
    }

    fn native(&self) -> Wire {
        Wire::OpenAiCompletions
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::OpenAi
    }

    fn stream(
        &self,
        _answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        match form.stream && !form.include_usage {
            true => UsageFilter::new(chunks).boxed(),
            false => chunks,
        }
    }

    fn whole(
        &self,
        _answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        form: ReplyForm,
    ) -> (BodyKind, Bytes) {
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
