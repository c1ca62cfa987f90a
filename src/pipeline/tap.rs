//! What a client's answer passes through on its way out: a [`UsageTap`]
//! that notes the usage the answer reports (or, when none is expected, its
//! text for an estimate), then the dialect's rendering of the stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::exchange::{Dialect, ReplyForm};
use crate::notes::NoteSlot;
use crate::stream::Chunk;
use crate::wire::probe::Probe;
use crate::wire::{BodyKind, Wire};

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

/// What a client's answer gets on its way out.
#[derive(Debug, Clone)]
pub struct ClientTap {
    /// The request's notes, where the usage found goes.
    pub slot: NoteSlot,
    /// Gather the answer's text for an estimate: no usage is expected.
    pub gather_text: bool,
    /// Who renders the answer, and in which form.
    pub dialect: &'static dyn Dialect,
    pub form: ReplyForm,
}

impl ClientTap {
    /// `chunks` (an answer in `wire`, of `kind`) with the usage tap and the
    /// dialect's rendering around them. A body that is neither JSON nor
    /// SSE passes as it is.
    pub fn wrap<S>(
        &self,
        wire: Wire,
        kind: Option<BodyKind>,
        chunks: S,
    ) -> BoxStream<'static, Chunk>
    where
        S: Stream<Item = Chunk> + Send + Unpin + 'static,
    {
        let Some(kind) = kind else {
            return chunks.boxed();
        };
        let probe = wire.probe(kind, self.gather_text);
        let tapped = UsageTap::new(chunks, probe, self.slot.clone()).boxed();
        match kind {
            BodyKind::Sse => self.dialect.stream(wire, tapped, self.form),
            BodyKind::Json => tapped,
        }
    }
}
