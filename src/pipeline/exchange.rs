//! What a dialect hands the pipeline, and what the pipeline asks of a
//! dialect: the two sides of the boundary that keeps the pipeline free of
//! any client's wire format.
//!
//! A dialect (see [`crate::api`]) parses its clients' requests into an
//! [`Exchange`]: a [`ParsedRequest`], which says what the request is (its
//! model, whether it streams, what decides its answer) and writes it in the
//! exchange's form for an upstream, and the [`Dialect`] that renders answers
//! back for its clients. A request goes upstream in its own API when the
//! provider speaks it, else in the exchange's (OpenAI chat); answers reach
//! the pipeline in the provider's [`Wire`], and the dialect turns them into
//! what its client reads (passing its own wire through untouched).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use futures::stream::BoxStream;
use serde_json::value::RawValue;

use crate::error::{AppError, ErrorShape};
use crate::notes::Prompt;
use crate::stream::Chunk;
use crate::wire::{BodyKind, Wire, errors};

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

    /// The top-level fields that decide the answer, values as written
    /// (a dialect may leave out what never decides it, such as Claude
    /// Code's per-request billing line): the cache key's material (the key
    /// leaves out `model`, `stream`, `stream_options` and the configured
    /// ignored fields).
    fn key_fields(&self) -> Vec<(&str, Cow<'_, RawValue>)>;

    /// The API the body is written for.
    fn wire(&self) -> Wire;

    /// The request in its own API for an upstream that speaks it: `model`
    /// replaced and, with `ask_usage`, a stream asked for its usage.
    fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes;

    /// The request in the exchange's form (OpenAI chat), for an upstream
    /// that does not speak its API; an error when it has no such form.
    fn hub_body(&self, upstream_model: &str, ask_usage: bool) -> Result<Bytes, AppError>;

    /// The prompt, for token estimates (rate limits, usage without a
    /// report).
    fn prompt(&self) -> Prompt;

    /// For a request made of independent items, each with its own cache
    /// entry (the inputs of an embeddings request): how to key and send
    /// them one by one. `None` (the default) for a request answered whole.
    fn itemized(&self) -> Option<&dyn Itemized> {
        None
    }

    /// Whether answering it costs tokens (it gets a usage record); token
    /// counting does not.
    fn metered(&self) -> bool {
        true
    }
}

/// A request whose items are answered (and cached) independently, so a
/// batch that repeats earlier items only sends the new ones upstream.
pub trait Itemized: Send + Sync {
    /// How many items it has.
    fn count(&self) -> usize;

    /// The fields that decide item `index`'s answer: the request's, with
    /// the item alone as its input (the cache key's material).
    fn item_key_fields(&self, index: usize) -> Vec<(&str, Cow<'_, RawValue>)>;

    /// An estimate of item `index`'s prompt tokens, to share a batch's
    /// reported usage among its items.
    fn item_tokens(&self, model: &str, index: usize) -> u64;

    /// The request for only the items at `indices`, in that order, asking
    /// the answer in the form items are stored in.
    fn subset(&self, indices: &[usize]) -> Result<Arc<dyn ParsedRequest>, AppError>;
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

/// Which answer a dialect renders: its wire, and the model that wrote it
/// (for wires whose answers do not always name it).
#[derive(Debug, Clone, Copy)]
pub struct Answered<'a> {
    pub wire: Wire,
    pub model: &'a str,
}

/// An inbound API's rendering side: answers in any wire turned into what
/// its client reads. One is made per request, so it may keep what of the
/// request its answers echo.
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// The endpoint, as cache keys and logs name it (`chat/completions`).
    fn endpoint(&self) -> &'static str;

    /// The wire its clients read: answers in it pass untouched.
    fn native(&self) -> Wire;

    /// The shape of its errors.
    fn error_shape(&self) -> ErrorShape;

    /// A streamed answer, as this dialect's client gets it, chunk by
    /// chunk (never collected: each event leaves as soon as it is whole).
    fn stream(
        &self,
        answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        form: ReplyForm,
    ) -> BoxStream<'static, Chunk>;

    /// A whole answer of `kind` (stored, gathered for a follower that wants
    /// the other form, or a JSON answer in another wire) in the form the
    /// client asked for: the kind and body it gets.
    fn whole(
        &self,
        answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        form: ReplyForm,
    ) -> (BodyKind, Bytes);

    /// An upstream's error answer (`body` whole) as this dialect's client
    /// reads it: as it is when the upstream wrote this dialect's shape, else
    /// rewritten ([`errors::rewrite`]); `None` when it passes as it is.
    fn upstream_error(&self, wire: Wire, status: StatusCode, body: &[u8]) -> Option<Bytes> {
        let shape = self.error_shape();
        (!errors::passes(wire, shape)).then(|| errors::rewrite(status.as_u16(), body, shape))
    }
}

/// One request on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Arc<dyn ParsedRequest>,
    pub dialect: Arc<dyn Dialect>,
}
