//! What a client's answer passes through on its way out: a [`UsageTap`]
//! that notes the usage the answer reports (or, when none is expected, its
//! text for an estimate), read in the upstream's wire, then the dialect's
//! rendering.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::exchange::{Answered, Dialect, ReplyForm};
use crate::notes::NoteSlot;
use crate::stream::Chunk;
use crate::stream::gathered::Gathered;
use crate::upstream::AnswerHead;
use crate::wire::probe::Probe;
use crate::wire::{BodyKind, errors};

/// Reads the usage of an answer as it passes to the client, and notes it
/// when the answer ends.
pub struct UsageTap<S> {
    inner: S,
    probe: Option<Box<dyn Probe>>,
    slot: NoteSlot,
}

impl<S> UsageTap<S> {
    pub fn new(inner: S, probe: Box<dyn Probe>, slot: NoteSlot) -> Self {
        Self {
            inner,
            probe: Some(probe),
            slot,
        }
    }
}

impl<S: Stream<Item = Chunk> + Unpin> Stream for UsageTap<S> {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(probe) = &mut this.probe {
                    probe.observe(chunk);
                }
            }
            // Only a whole answer has usage worth reporting.
            Poll::Ready(Some(Err(_))) => this.probe = None,
            Poll::Ready(None) => {
                if let Some(probe) = this.probe.take() {
                    let found = probe.finish();
                    this.slot.update(|entry| {
                        entry.metering.usage = found.usage;
                        entry.metering.answer_text = found.text;
                    });
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for UsageTap<S> {
    /// An answer dropped before its end (the client left, or the shutdown
    /// cut it) leaves a rough count of what it had streamed.
    fn drop(&mut self) {
        if let Some(events) = self.probe.as_ref().and_then(|probe| probe.events_so_far()) {
            self.slot
                .update(|entry| entry.metering.events_before_end = Some(events));
        }
    }
}

/// Largest JSON answer gathered to be translated into another API's form
/// (a whole JSON object cannot be rewritten piece by piece): far above any
/// chat answer, so only a runaway body is cut.
const MAX_TRANSLATED_JSON: usize = 64 * 1024 * 1024;
/// Largest upstream error body gathered to be rewritten in the client's
/// shape.
const MAX_TRANSLATED_ERROR: usize = 256 * 1024;

/// What a client's answer gets on its way out.
#[derive(Debug, Clone)]
pub struct ClientTap {
    /// The request's notes, where the usage found goes.
    pub slot: NoteSlot,
    /// Gather the answer's text for an estimate: no usage is expected.
    pub gather_text: bool,
    /// Who renders the answer, and in which form.
    pub dialect: Arc<dyn Dialect>,
    pub form: ReplyForm,
}

impl ClientTap {
    /// `chunks` of the answer `head` starts, with the usage tap and the
    /// dialect's rendering around them: a stream event by event, a JSON
    /// answer in another wire gathered and translated, an error in another
    /// API's shape rewritten (and `head` told of the new body). A body
    /// that is neither JSON nor SSE passes as it is.
    pub fn wrap<S>(&self, head: &mut AnswerHead, chunks: S) -> BoxStream<'static, Chunk>
    where
        S: Stream<Item = Chunk> + Send + Unpin + 'static,
    {
        if !head.status.is_success() {
            return self.error(head, chunks);
        }
        let Some(kind) = head.kind else {
            return chunks.boxed();
        };
        let probe = head.wire.probe(kind, self.gather_text);
        let tapped = UsageTap::new(chunks, probe, self.slot.clone()).boxed();
        let answered = Answered {
            wire: head.wire,
            model: &head.model,
        };
        match kind {
            BodyKind::Sse => self.dialect.stream(answered, tapped, self.form),
            BodyKind::Json if head.wire == self.dialect.native() => tapped,
            BodyKind::Json => {
                let (dialect, wire, model) = (self.dialect.clone(), head.wire, head.model.clone());
                let form = ReplyForm {
                    stream: false,
                    ..self.form
                };
                let translate = move |body: Bytes| {
                    let answered = Answered {
                        wire,
                        model: &model,
                    };
                    dialect.whole(answered, BodyKind::Json, &body, form).1
                };
                Gathered::new(tapped, MAX_TRANSLATED_JSON, translate).boxed()
            }
        }
    }

    /// An error answer: as it is in the client's shape, else gathered and
    /// rewritten as JSON.
    fn error<S>(&self, head: &mut AnswerHead, chunks: S) -> BoxStream<'static, Chunk>
    where
        S: Stream<Item = Chunk> + Send + Unpin + 'static,
    {
        if errors::passes(head.wire, self.dialect.error_shape()) {
            return chunks.boxed();
        }
        head.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        head.headers.remove(header::CONTENT_ENCODING);
        head.kind = Some(BodyKind::Json);
        let (dialect, wire, status) = (self.dialect.clone(), head.wire, head.status);
        let rewrite =
            move |body: Bytes| dialect.upstream_error(wire, status, &body).unwrap_or(body);
        Gathered::new(chunks, MAX_TRANSLATED_ERROR, rewrite).boxed()
    }

    /// A whole answer (gathered for a listener that wants the other form):
    /// its usage noted, then rendered; the kind and body the client gets.
    pub fn whole(&self, head: &AnswerHead, kind: BodyKind, body: &Bytes) -> (BodyKind, Bytes) {
        let mut probe = head.wire.probe(kind, self.gather_text);
        probe.observe(body);
        let found = probe.finish();
        self.slot.update(|notes| {
            notes.metering.usage = found.usage;
            notes.metering.answer_text = found.text;
        });
        let answered = Answered {
            wire: head.wire,
            model: &head.model,
        };
        self.dialect.whole(answered, kind, body, self.form)
    }
}
