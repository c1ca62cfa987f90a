//! An upstream answer's body as it arrives, with its time limits.
//!
//! The first chunk was read before the answer was committed to (see
//! [`super::call`]); it is handed out first, then the rest as it comes.
//! Between two chunks at most the provider's idle timeout may pass, and the
//! whole exchange must end by its total deadline; past either, the body
//! ends with a [`StreamFault`] that says which, so SSE clients get an error
//! event naming the timeout. The provider's concurrency slot, if any, is held
//! until the body is dropped. Every chunk passes the request's
//! [`crate::redact`] first, so no configured or passed-through key the
//! upstream echoes goes any further.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use tokio::time::{Instant, Sleep};

use crate::cache::BodyKind;
use crate::limits::TokenReservation;
use crate::providers::Slot;
use crate::redact::StreamRedaction;
use crate::usage::UsageProbe;

/// Why a body ended before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamFault {
    /// The connection broke or the upstream sent something unreadable.
    #[error("the provider's stream broke off before it was complete")]
    Broken,
    /// Nothing arrived for the idle timeout.
    #[error("the provider sent nothing for {} s, so the stream was ended", .0.as_secs())]
    Idle(Duration),
    /// The total timeout passed.
    #[error("the answer took longer than the total timeout of {} s, so the stream was ended", .0.as_secs())]
    Total(Duration),
}

impl StreamFault {
    /// Timeouts are ours: the stream can end cleanly after saying so.
    pub fn is_timeout(self) -> bool {
        matches!(self, Self::Idle(_) | Self::Total(_))
    }

    /// `error.code` of the SSE error event.
    pub fn code(self) -> &'static str {
        match self {
            Self::Broken => "upstream_stream_error",
            Self::Idle(_) | Self::Total(_) => "upstream_timeout",
        }
    }
}

/// The time limits of one body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle: Duration,
    pub deadline: Instant,
    /// The total timeout the deadline came from (for the message).
    pub total: Duration,
}

/// See the module docs.
pub struct UpstreamBody {
    first: Option<Bytes>,
    rest: BoxStream<'static, reqwest::Result<Bytes>>,
    limits: Limits,
    timer: Pin<Box<Sleep>>,
    done: bool,
    /// The upstream body has ended; what redaction held back goes last.
    upstream_ended: bool,
    redaction: StreamRedaction,
    settlement: Option<Settlement>,
    _slot: Option<Slot>,
}

/// A token reservation and the probe that finds the usage to settle it
/// with. Settled when the body goes away, however it ends: with the
/// reported usage, or, when none came, the estimate stays charged.
struct Settlement {
    probe: Option<UsageProbe>,
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
            .field("limits", &self.limits)
            .field("done", &self.done)
            .finish()
    }
}

impl UpstreamBody {
    pub fn new(
        first: Option<Bytes>,
        rest: BoxStream<'static, reqwest::Result<Bytes>>,
        limits: Limits,
        slot: Option<Slot>,
        redaction: StreamRedaction,
    ) -> Self {
        Self {
            first,
            rest,
            timer: Box::pin(tokio::time::sleep_until(next_wake(&limits))),
            limits,
            done: false,
            upstream_ended: false,
            redaction,
            settlement: None,
            _slot: slot,
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
    fn end(&mut self) -> Poll<Option<Result<Bytes, StreamFault>>> {
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

    /// Settles `reservation` with the usage this body reports (a `kind` of
    /// `None`, a body that is neither JSON nor SSE, reports none).
    pub fn settle_with(&mut self, kind: Option<BodyKind>, reservation: TokenReservation) {
        self.settlement = Some(Settlement {
            probe: kind.map(|kind| UsageProbe::new(kind, false)),
            reservation: Some(reservation),
        });
    }

    fn seen(&mut self, chunk: &[u8]) {
        if let Some(probe) = self.settlement.as_mut().and_then(|s| s.probe.as_mut()) {
            probe.observe(chunk);
        }
    }
}

fn next_wake(limits: &Limits) -> Instant {
    (Instant::now() + limits.idle).min(limits.deadline)
}

impl Stream for UpstreamBody {
    type Item = Result<Bytes, StreamFault>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
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
            return match this.poll_upstream(cx) {
                // All of it held back by the redaction: read on.
                Poll::Ready(Some(Ok(None))) => continue,
                Poll::Ready(Some(Ok(Some(chunk)))) => Poll::Ready(Some(Ok(chunk))),
                Poll::Ready(Some(Err(fault))) => Poll::Ready(Some(Err(fault))),
                Poll::Ready(None) => this.end(),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl UpstreamBody {
    /// The next upstream chunk, passed through [`UpstreamBody::pass`], or
    /// a fault.
    fn poll_upstream(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<Bytes>, StreamFault>>> {
        let this = self;
        match this.rest.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let wake = next_wake(&this.limits);
                this.timer.as_mut().reset(wake);
                Poll::Ready(Some(Ok(this.pass(chunk))))
            }
            Poll::Ready(Some(Err(error))) => {
                // Without the URL: it may carry credentials.
                let error = error.without_url();
                tracing::warn!(error = %crate::proxy::error_chain(&error), "upstream body broke off");
                this.done = true;
                Poll::Ready(Some(Err(StreamFault::Broken)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    let fault = if Instant::now() >= this.limits.deadline {
                        StreamFault::Total(this.limits.total)
                    } else {
                        StreamFault::Idle(this.limits.idle)
                    };
                    tracing::warn!(%fault, "upstream body timed out");
                    Poll::Ready(Some(Err(fault)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
