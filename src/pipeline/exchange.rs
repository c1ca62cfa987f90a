//! What a dialect hands the pipeline, and what the pipeline asks of a
//! dialect: the two sides of the boundary that keeps the pipeline free of
//! any client's wire format.
//!
//! A dialect (see [`crate::api`]) parses its clients' requests into an
//! [`Exchange`]: a [`ParsedRequest`], which says what the request is (its
//! model, whether it streams, what decides its answer) and writes it in the
//! exchange's form for an upstream, and the [`Dialect`] that renders answers
//! back for its clients. Answers reach the pipeline in a [`Wire`] (today
//! always OpenAI chat); the dialect turns them into what its client reads.

use std::sync::Arc;

use axum::body::Bytes;
use futures::stream::BoxStream;
use serde_json::value::RawValue;

use crate::notes::Prompt;
use crate::stream::Chunk;
use crate::wire::{BodyKind, Wire};

/// One parsed request: what it is and how to write it for an upstream.
pub trait ParsedRequest: Send + Sync + std::fmt::Debug {
    /// The model name as the client wrote it.
    fn model(&self) -> &str;

    /// Whether the client asked for a stream.
    fn stream(&self) -> bool;

    /// Whether a streaming client asked for the usage chunk.
    fn wants_stream_usage(&self) -> bool;

    /// The body as received (stored beside a cached answer).
    fn raw(&self) -> &Bytes;

    /// The top-level fields that decide the answer, values as written: the
    /// cache key's material (the key leaves out `model`, `stream`,
    /// `stream_options` and the configured ignored fields).
    fn key_fields(&self) -> Vec<(&str, &RawValue)>;

    /// The request in the exchange's form for an upstream: `model`
    /// replaced and, with `ask_usage`, a stream asked for its usage.
    fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes;

    /// The prompt, for token estimates (rate limits, usage without a
    /// report).
    fn prompt(&self) -> Prompt;
}

/// How the client wants its answer.
#[derive(Debug, Clone, Copy)]
pub struct ReplyForm {
    /// `"stream": true`.
    pub stream: bool,
    /// A streaming client asked for the usage chunk.
    pub include_usage: bool,
    /// `x-cache-replay: paced`.
    pub paced: bool,
}

impl ReplyForm {
    /// The body kind the client reads.
    pub fn kind(&self) -> BodyKind {
        match self.stream {
            true => BodyKind::Sse,
            false => BodyKind::Json,
        }
    }
}

/// An inbound API's rendering side: answers in the exchange's wire turned
/// into what its client reads.
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// The endpoint, as cache keys and logs name it (`chat/completions`).
    fn endpoint(&self) -> &'static str;

    /// A streamed answer in `wire`, as this dialect's client gets it,
    /// chunk by chunk (never collected).
    fn stream(
        &self,
        wire: Wire,
        chunks: BoxStream<'static, Chunk>,
        form: ReplyForm,
    ) -> BoxStream<'static, Chunk>;

    /// A whole answer in `wire` (stored, or gathered for a follower that
    /// wants the other form) in the form the client asked for: the kind
    /// and body it gets.
    fn whole(&self, wire: Wire, kind: BodyKind, body: &Bytes, form: ReplyForm)
    -> (BodyKind, Bytes);
}

/// One request on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Arc<dyn ParsedRequest>,
    pub dialect: &'static dyn Dialect,
}
