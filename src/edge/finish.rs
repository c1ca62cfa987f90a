//! The end of every request: its response body is watched as it passes,
//! and when it ends — completely, by an upstream failure, because the
//! client went away, or because a shutdown's grace period ran out — the
//! request is handed to the [`Sink`] exactly once, with its real outcome,
//! total time and byte count (for the request-log line, the usage record
//! and the metrics, which the sink owns).
//!
//! At the end of a shutdown's grace period an answer still streaming ends
//! with a final error event of code `server_shutdown` (a JSON body is cut
//! after what was sent, flushed first).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, Method, StatusCode};
use http_body::{Frame, SizeHint};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::{ErrorParts, ErrorShape};
use crate::notes::{NoteSlot, Notes};
use crate::stream::relay::Ending;
use crate::stream::sse::ends_event;

/// Largest part of a response body copied for the log when bodies are
/// logged, so one huge answer cannot balloon memory.
pub const MAX_LOGGED_BODY_BYTES: usize = 256 * 1024;

/// How a response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    ClientClosed,
    UpstreamError,
    /// Ended by the server at the close of a shutdown's grace period.
    Shutdown,
}

impl Outcome {
    /// `complete`, `client_closed`, `upstream_error` or `shutdown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::ClientClosed => "client_closed",
            Self::UpstreamError => "upstream_error",
            Self::Shutdown => "shutdown",
        }
    }
}

/// A request whose response has ended, as the sink gets it.
#[derive(Debug)]
pub struct Finished<'a> {
    /// When the request arrived, Unix ms.
    pub arrived_ms: i64,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub notes: &'a Notes,
    pub status: u16,
    /// The gateway's own error code, when it answered with an error.
    pub error: Option<&'static str>,
    pub outcome: Outcome,
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
    pub bytes: u64,
    /// The start of the response body, when bodies are logged.
    pub response_body: Option<&'a [u8]>,
}

/// Where finished requests go. Implemented by the wiring, which knows the
/// request log, the usage store and the metrics.
pub trait Sink: Send + Sync {
    /// A response has begun (it counts as in flight until it finishes).
    fn started(&self);
    /// A response has ended; called once per started one.
    fn finished(&self, request: &Finished<'_>);
    /// Whether response bodies are copied for the log.
    fn log_bodies(&self) -> bool;
}

/// What [`Observer`] needs to know about its request.
pub struct Observed {
    pub sink: Arc<dyn Sink>,
    pub started: Instant,
    pub arrived_ms: i64,
    pub request_id: HeaderValue,
    pub method: Method,
    pub path: String,
    pub slot: NoteSlot,
    /// Answered 503 because the grace period ran out before the answer.
    pub cut_early: bool,
    /// The error shape of the route's API (for a shutdown's last event).
    pub error_shape: ErrorShape,
}

/// Watches one response: bytes, first byte, the body copy for the log.
struct Observer {
    request: Observed,
    status: StatusCode,
    error: Option<&'static str>,
    first_byte: Option<Instant>,
    bytes: u64,
    body_copy: Option<Vec<u8>>,
    finished: bool,
}

impl Observer {
    fn on_data(&mut self, data: &Bytes) {
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        self.bytes += data.len() as u64;
        if let Some(copy) = &mut self.body_copy {
            let room = MAX_LOGGED_BODY_BYTES.saturating_sub(copy.len());
            copy.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let request = &self.request;
        let outcome = match request.cut_early {
            true => Outcome::Shutdown,
            false => outcome,
        };
        let notes = request.slot.snapshot();
        let ms = |at: Instant| {
            (at.duration_since(request.started).as_secs_f64() * 1_000_000.0).round() / 1000.0
        };
        let finished = Finished {
            arrived_ms: request.arrived_ms,
            request_id: request.request_id.to_str().unwrap_or("-"),
            method: request.method.as_str(),
            path: &request.path,
            notes: &notes,
            status: self.status.as_u16(),
            error: self.error,
            outcome,
            ttfb_ms: self.first_byte.map(ms),
            total_ms: ms(Instant::now()),
            bytes: self.bytes,
            response_body: self.body_copy.as_deref(),
        };
        request.sink.finished(&finished);
    }
}

/// The response body, watched to its end: counts and copies what passes,
/// finishes the request once, and ends early for a shutdown.
pub struct ObservedBody {
    inner: Body,
    observer: Observer,
    streams_cut: CancellationToken,
    /// The end of the grace period, watched once the body has had to wait.
    cut: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    ending: Ending,
    is_sse: bool,
    /// The last data ended an SSE event (so an error event can follow).
    at_event_boundary: bool,
}

impl ObservedBody {
    /// Watches `inner`, the body of a response with `status`; `error` is
    /// the gateway's own error code when it answered with one.
    pub fn new(
        inner: Body,
        request: Observed,
        response: (StatusCode, Option<&'static str>, bool),
        streams_cut: CancellationToken,
    ) -> Self {
        let (status, error, is_sse) = response;
        request.sink.started();
        let body_copy = request.sink.log_bodies().then(Vec::new);
        Self {
            inner,
            observer: Observer {
                request,
                status,
                error,
                first_byte: None,
                bytes: 0,
                body_copy,
                finished: false,
            },
            streams_cut,
            cut: None,
            ending: Ending::Running,
            is_sse,
            at_event_boundary: true,
        }
    }

    /// Whether the grace period is over; registers for the wake-up.
    fn cut_now(&mut self, cx: &mut Context<'_>) -> bool {
        use std::future::Future;

        let token = &self.streams_cut;
        let cut = self
            .cut
            .get_or_insert_with(|| Box::pin(token.clone().cancelled_owned()));
        cut.as_mut().poll(cx).is_ready()
    }

    /// Ends the answer for the shutdown: the inner body goes first (so what
    /// it saw of the usage is in the notes), then the finish.
    fn end_for_shutdown(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.inner = Body::empty();
        self.observer.finish(Outcome::Shutdown);
        if self.is_sse {
            self.ending = Ending::Ended;
            let shape = self.observer.request.error_shape;
            let event = shutdown_event(shape, self.at_event_boundary);
            return Poll::Ready(Some(Ok(Frame::data(event))));
        }
        self.ending.flush_then_fail(cx);
        Poll::Pending
    }

    fn on_frame(&mut self, frame: &Frame<Bytes>) {
        if let Some(data) = frame.data_ref() {
            self.observer.on_data(data);
            if self.is_sse && !data.is_empty() {
                self.at_event_boundary = ends_event(data);
            }
        }
    }
}

/// The last event of a stream the shutdown ends.
fn shutdown_event(shape: ErrorShape, at_event_boundary: bool) -> Bytes {
    let parts = ErrorParts {
        status: 503,
        message: "llm-bridge is shutting down: the answer was cut before its end",
        kind: "server_error",
        param: None,
        code: "server_shutdown",
    };
    Bytes::from(shape.event(&parts, at_event_boundary))
}

impl HttpBody for ObservedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let fail = || axum::Error::new("the server is shutting down");
        if let Some(ending) = this.ending.poll_ending(cx, fail) {
            return ending;
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => this.on_frame(frame),
            Poll::Ready(Some(Err(_))) => this.observer.finish(Outcome::UpstreamError),
            Poll::Ready(None) => this.observer.finish(Outcome::Complete),
            Poll::Pending if this.cut_now(cx) => return this.end_for_shutdown(cx),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match self.ending {
            Ending::Running => self.inner.is_end_stream(),
            Ending::Flushing | Ending::Failing => false,
            Ending::Ended => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        // A body hyper never had to poll (empty, or fully known) is complete;
        // one dropped half-way means the client went away.
        let outcome = if self.inner.is_end_stream() {
            Outcome::Complete
        } else {
            Outcome::ClientClosed
        };
        // The inner body goes first: what it saw of the usage lands in the
        // notes before the request is finished.
        self.inner = Body::empty();
        self.observer.finish(outcome);
    }
}
