//! OpenAI Responses, inbound: `POST /v1/responses`.
//!
//! The body is parsed once, shallowly ([`body`]); llm-bridge keeps no
//! responses, so its stateful features are refused there. For an upstream
//! that speaks Responses (OpenAI) it goes as it came (only `model`
//! rewritten) and answers pass through untouched, converted between JSON
//! and events when a hit or a shared flight has the other form. For any
//! other it is written as a chat request ([`request`], [`items`]) and the
//! exchange's answers are rendered as a `response` ([`render`]) or its
//! events ([`stream`]), echoing the request's settings.

mod body;
mod items;
mod render;
mod request;
mod stream;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use futures::stream::BoxStream;

pub use body::ResponsesBody;
pub use render::{Echo, completion_to_response};
pub use request::to_chat_request;
pub use stream::ToResponsesStream;

use crate::caller::Caller;
use crate::error::{AppError, ErrorShape};
use crate::notes::NoteSlot;
use crate::pipeline::{self, Answered, Dialect, Exchange, Incoming, Pipeline, ReplyForm};
use crate::stream::Chunk;
use crate::stream::transcode::Transcoded;
use crate::wire::openai_chat::chunks_to_completion;
use crate::wire::responses::{events_to_response, response_to_events};
use crate::wire::{BodyKind, Wire, hub};

/// The Responses dialect, for one request (whose settings its answers
/// repeat).
#[derive(Debug)]
pub struct Responses {
    echo: Echo,
}

impl Responses {
    /// The dialect answering `request`.
    pub fn new(request: &ResponsesBody) -> Self {
        Self {
            echo: Echo::from_request(&request.value()),
        }
    }
}

/// `POST /v1/responses`.
pub async fn responses(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let request = ResponsesBody::parse(body)?;
    let dialect = Responses::new(&request);
    let incoming = Incoming {
        caller,
        slot,
        headers,
        started,
    };
    let exchange = Exchange {
        request: Arc::new(request),
        dialect: Arc::new(dialect),
    };
    pipeline::serve(&pipeline, incoming, exchange).await
}

impl Dialect for Responses {
    fn endpoint(&self) -> &'static str {
        "responses"
    }

    fn native(&self) -> Wire {
        Wire::OpenAiResponses
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::Responses
    }

    fn stream(
        &self,
        answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        _form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        if answer.wire == Wire::OpenAiResponses {
            return chunks;
        }
        let chunks = hub::stream(answer.wire, answer.model, chunks);
        let transcoder = ToResponsesStream::new(self.echo.clone(), answer.model);
        Transcoded::new(chunks, Box::new(transcoder)).boxed()
    }

    fn whole(
        &self,
        answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        form: ReplyForm,
    ) -> (BodyKind, Bytes) {
        let wanted = form.kind();
        if answer.wire == Wire::OpenAiResponses {
            return match (kind, wanted) {
                (BodyKind::Sse, BodyKind::Json) => {
                    (wanted, Bytes::from(events_to_response(body).to_string()))
                }
                (BodyKind::Json, BodyKind::Sse) => {
                    let response = serde_json::from_slice(body).unwrap_or_default();
                    (wanted, Bytes::from(response_to_events(&response)))
                }
                _ => (kind, body.clone()),
            };
        }
        let chat = hub::whole(answer.wire, answer.model, kind, body);
        let completion = match kind {
            BodyKind::Sse => chunks_to_completion(&chat),
            BodyKind::Json => serde_json::from_slice(&chat).unwrap_or_default(),
        };
        let response = completion_to_response(&completion, &self.echo, answer.model);
        match wanted {
            BodyKind::Json => (wanted, Bytes::from(response.to_string())),
            BodyKind::Sse => (wanted, Bytes::from(response_to_events(&response))),
        }
    }
}
