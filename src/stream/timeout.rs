//! The time limits of a body as it arrives: at most the idle timeout
//! between two chunks, and an end by the total deadline. Past either the
//! body ends with a [`StreamFault`] that says which, so an SSE client gets
//! an error event naming the timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use tokio::time::{Instant, Sleep};

use super::{Chunk, StreamFault};

/// The time limits of one body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle: Duration,
    pub deadline: Instant,
    /// The total timeout the deadline came from (for the message).
    pub total: Duration,
}

impl Limits {
    fn next_wake(&self) -> Instant {
        (Instant::now() + self.idle).min(self.deadline)
    }
}

/// `inner` within `limits`. An error of `inner` (its text, for the log)
/// ends the body as [`StreamFault::Broken`].
pub struct Timed<S> {
    inner: S,
    limits: Limits,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl<S> Timed<S> {
    pub fn new(inner: S, limits: Limits) -> Self {
        Self {
            inner,
            timer: Box::pin(tokio::time::sleep_until(limits.next_wake())),
            limits,
            done: false,
        }
    }
}

impl<S> Stream for Timed<S>
where
    S: Stream<Item = Result<Bytes, String>> + Unpin,
{
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let wake = this.limits.next_wake();
                this.timer.as_mut().reset(wake);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::warn!(%error, "upstream body broke off");
                this.done = true;
                Poll::Ready(Some(Err(StreamFault::Broken)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
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
