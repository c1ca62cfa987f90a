//! An upstream answer's body as it arrives.
//!
//! The first chunk was read before the answer was committed to (see
//! [`super::call`]); it is handed out first, then the rest as it comes,
//! within the provider's time limits ([`crate::stream::timeout`]). Every
//! chunk passes the request's redaction ([`super::redact`]) first, so no
//! configured or passed-through key the upstream echoes goes any further.
//! The provider's concurrency slot, if any, is held until the body is
//! dropped, and a token reservation is settled with the usage the body
//! reports before its end reaches the client.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::Stream;
use futures::stream::BoxStream;

use super::providers::Slot;
use super::redact::StreamRedaction;
use crate::limits::TokenReservation;
use crate::stream::timeout::{Limits, Timed};
use crate::stream::{Chunk, StreamFault};
use crate::wire::probe::Probe;

/// An upstream body: its first chunk, then the rest within its time
/// limits, redacted, with the provider's slot held and tokens settled.
pub struct UpstreamBody {
    first: Option<Bytes>,
    rest: Timed<BoxStream<'static, Result<Bytes, String>>>,
    /// The upstream body has ended; what redaction held back goes last.
    upstream_ended: bool,
    done: bool,
    redaction: StreamRedaction,
    settlement: Option<Settlement>,
    _slot: Option<Slot>,
}

/// A token reservation and the probe that finds the usage to settle it
/// with. Settled when the body goes away, however it ends: with the
/// reported usage, or, when none came, the estimate stays charged.
struct Settlement {
    probe: Option<Box<dyn Probe>>,
    reservation: Option<TokenReservation>,
}

impl Drop for Settlement {
    fn drop(&mut self) {
        let usage = self.probe.take().and_then(|p| p.finish().usage);
        if let (Some(reservation), Some(usage)) = (self.reservation.take(), usage) {
            reservation.settle(usage.total());
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("done", &self.done)
            .finish()
    }
}

impl UpstreamBody {
    /// `first`, then `rest` (its errors as text, for the log) within
    /// `limits`.
    pub fn new(
        first: Option<Bytes>,
        rest: BoxStream<'static, Result<Bytes, String>>,
        limits: Limits,
        slot: Option<Slot>,
        redaction: StreamRedaction,
    ) -> Self {
        Self {
            first,
            rest: Timed::new(rest, limits),
            upstream_ended: false,
            done: false,
            redaction,
            settlement: None,
            _slot: slot,
        }
    }

    /// Settles `reservation` with the usage `probe` finds in this body
    /// (`None`: a body that is neither JSON nor SSE reports none).
    pub fn settle_with(&mut self, probe: Option<Box<dyn Probe>>, reservation: TokenReservation) {
        self.settlement = Some(Settlement {
            probe,
            reservation: Some(reservation),
        });
    }

    fn seen(&mut self, chunk: &[u8]) {
        if let Some(probe) = self.settlement.as_mut().and_then(|s| s.probe.as_mut()) {
            probe.observe(chunk);
        }
    }

    /// `chunk` after redaction, and seen by the usage probe; `None` when
    /// redaction held all of it back.
    fn pass(&mut self, chunk: Bytes) -> Option<Bytes> {
        let was_empty = chunk.is_empty();
        let out = self.redaction.chunk(chunk);
        if out.is_empty() && !was_empty {
            return None;
        }
        self.seen(&out);
        Some(out)
    }

    /// The end of the body: what redaction still held, then the end.
    fn end(&mut self) -> Poll<Option<Chunk>> {
        self.upstream_ended = true;
        if let Some(tail) = self.redaction.finish() {
            self.seen(&tail);
            return Poll::Ready(Some(Ok(tail)));
        }
        self.done = true;
        // Settled before the end reaches the client, so its next request
        // already sees the real usage.
        self.settlement = None;
        Poll::Ready(None)
    }
}

impl Stream for UpstreamBody {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.upstream_ended {
            return this.end();
        }
        if let Some(first) = this.first.take()
            && let Some(out) = this.pass(first)
        {
            return Poll::Ready(Some(Ok(out)));
        }
        loop {
            return match Pin::new(&mut this.rest).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => match this.pass(chunk) {
                    Some(out) => Poll::Ready(Some(Ok(out))),
                    // All of it held back by the redaction: read on.
                    None => continue,
                },
                Poll::Ready(Some(Err(fault))) => {
                    this.done = true;
                    Poll::Ready(Some(Err::<Bytes, StreamFault>(fault)))
                }
                Poll::Ready(None) => this.end(),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
