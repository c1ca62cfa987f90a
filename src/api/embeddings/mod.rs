//! OpenAI embeddings, inbound: `POST /v1/embeddings`.
//!
//! Served by OpenAI-compatible providers (bare `text-embedding-…` names go
//! to `openai`). With the cache on, every input is cached on its own
//! ([`crate::pipeline::Itemized`]): a batch that repeats earlier inputs
//! sends only the new ones upstream, and the answer lists every input in
//! the client's order with its index. Vectors are stored as floats and
//! written as base64 here when the client asked for `encoding_format:
//! "base64"`. With the cache off the body goes upstream as it came.

mod body;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::BoxStream;

pub use body::EmbeddingsBody;

use crate::caller::Caller;
use crate::error::{AppError, ErrorShape};
use crate::notes::NoteSlot;
use crate::pipeline::{self, Answered, Dialect, Exchange, Incoming, Pipeline, ReplyForm};
use crate::stream::Chunk;
use crate::wire::{BodyKind, Wire, embeddings};

/// The embeddings dialect: whether this client wants base64 vectors.
#[derive(Debug)]
pub struct Embeddings {
    base64: bool,
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let request = EmbeddingsBody::parse(body)?;
    let dialect = Embeddings {
        base64: request.base64,
    };
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

impl Dialect for Embeddings {
    fn endpoint(&self) -> &'static str {
        "embeddings"
    }

    fn native(&self) -> Wire {
        Wire::OpenAiEmbeddings
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::OpenAi
    }

    fn stream(
        &self,
        _answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        _form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        chunks
    }

    /// Answers are put together as floats; a base64 client gets them
    /// encoded (an answer already in base64 stays as it is).
    fn whole(
        &self,
        _answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        _form: ReplyForm,
    ) -> (BodyKind, Bytes) {
        match self.base64 {
            true => (kind, embeddings::as_base64(body)),
            false => (kind, body.clone()),
        }
    }
}
