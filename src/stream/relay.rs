//! Handing an answer's chunks to a client so that it can always tell a
//! whole answer from a cut one.
//!
//! Chunks pass as they arrive (the same `Bytes`, no copy, no buffering),
//! so a streamed token reaches the client as soon as it reaches the
//! gateway. When the answer breaks off, an SSE client gets one final error
//! event (never a made-up `data: [DONE]`); any other body fails only after
//! what came before has been flushed.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use futures::Stream;

use super::StreamFault;
use super::sse::ends_event;
use crate::error::{ErrorParts, ErrorShape};
use crate::headers::X_ACCEL_BUFFERING;

/// Headers every event stream gets: intermediaries such as nginx buffer
/// responses unless told not to.
pub fn mark_event_stream(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
}

/// The client's body for a stream of chunks: SSE gets an error event (in
/// the client's `shape`) before an early end, other bodies just end
/// abnormally — after what was already sent has been flushed (see
/// [`FlushedFailure`]).
pub fn client_body<S>(is_sse: bool, shape: ErrorShape, chunks: S) -> Body
where
    S: Stream<Item = Result<Bytes, StreamFault>> + Send + Unpin + 'static,
{
    if is_sse {
        Body::from_stream(SseRelay::new(chunks, shape))
    } else {
        Body::from_stream(FlushedFailure::new(chunks))
    }
}

/// Where a body that is to end abnormally stands. hyper writes the head and
/// body chunks into a buffer and flushes it when the body is pending; a body
/// that fails while the buffer is full drops it and resets the connection,
/// so a client whose answer broke right after its first bytes would get
/// nothing at all, not even the status line. So before failing, a body is
/// pending once (waking itself at once), and the client always gets what
/// was sent before the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Chunks pass.
    Running,
    /// What was sent is being flushed.
    Flushing,
    /// Now fail, so the body is cut, not ended cleanly.
    Failing,
    Ended,
}

impl Ending {
    /// Starts the flush before a failure (the caller returns `Pending`).
    pub fn flush_then_fail(&mut self, cx: &mut Context<'_>) {
        *self = Self::Flushing;
        cx.waker().wake_by_ref();
    }

    /// This poll's answer while the body is ending (pending, then the
    /// failure `fail` makes, then the end); `None` while it runs.
    pub fn poll_ending<T, E>(
        &mut self,
        cx: &mut Context<'_>,
        fail: impl FnOnce() -> E,
    ) -> Option<Poll<Option<Result<T, E>>>> {
        match *self {
            Self::Running => None,
            Self::Flushing => {
                *self = Self::Failing;
                cx.waker().wake_by_ref();
                Some(Poll::Pending)
            }
            Self::Failing => {
                *self = Self::Ended;
                Some(Poll::Ready(Some(Err(fail()))))
            }
            Self::Ended => Some(Poll::Ready(None)),
        }
    }
}

/// A body that fails only after what came before the failure has left (see
/// [`Ending`]), so the client always gets an HTTP response whose body is
/// cut.
struct FlushedFailure<S> {
    inner: S,
    failure: Option<StreamFault>,
    ending: Ending,
}

impl<S> FlushedFailure<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            failure: None,
            ending: Ending::Running,
        }
    }
}

impl<S> Stream for FlushedFailure<S>
where
    S: Stream<Item = Result<Bytes, StreamFault>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let fault = this.failure.unwrap_or(StreamFault::Broken);
        if let Some(ending) = this.ending.poll_ending(cx, || std::io::Error::other(fault)) {
            return ending;
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Err(fault))) => {
                this.failure = Some(fault);
                this.ending.flush_then_fail(cx);
                Poll::Pending
            }
            other => other.map(|item| item.map(|chunk| chunk.map_err(std::io::Error::other))),
        }
    }
}

/// Relays an SSE stream. If the upstream fails mid-stream, the client gets
/// one OpenAI-shaped `error` event, never a made-up `data: [DONE]`, so no
/// client mistakes a cut answer for a whole one. After a timeout (ours) the
/// stream then ends cleanly; after a broken upstream the connection is
/// aborted, as the upstream's was, once the error event has been flushed
/// (see [`Ending`]).
struct SseRelay<S> {
    inner: S,
    shape: ErrorShape,
    at_event_boundary: bool,
    ending: Ending,
}

impl<S> SseRelay<S> {
    fn new(inner: S, shape: ErrorShape) -> Self {
        Self {
            inner,
            shape,
            at_event_boundary: true,
            ending: Ending::Running,
        }
    }
}

/// The event sent when the upstream fails mid-stream.
pub fn stream_error_event(fault: StreamFault, shape: ErrorShape, at_event_boundary: bool) -> Bytes {
    let parts = ErrorParts {
        // A broken or stalled upstream: a gateway error, as a status.
        status: if fault.is_timeout() { 504 } else { 502 },
        message: &fault.to_string(),
        kind: "upstream_error",
        param: None,
        code: fault.code(),
    };
    Bytes::from(shape.event(&parts, at_event_boundary))
}

impl<S> Stream for SseRelay<S>
where
    S: Stream<Item = Result<Bytes, StreamFault>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let fail = || std::io::Error::other("upstream stream failed");
        if let Some(ending) = this.ending.poll_ending(cx, fail) {
            return ending;
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if !chunk.is_empty() {
                    this.at_event_boundary = ends_event(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(fault))) => {
                // The error event goes now; a timeout then ends cleanly, a
                // broken upstream is cut after a flush.
                this.ending = if fault.is_timeout() {
                    Ending::Ended
                } else {
                    Ending::Flushing
                };
                Poll::Ready(Some(Ok(stream_error_event(
                    fault,
                    this.shape,
                    this.at_event_boundary,
                ))))
            }
            Poll::Ready(None) => {
                this.ending = Ending::Ended;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::Response;

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What a raw client receives from a body that yields `chunks`.
    async fn served(chunks: Vec<Result<Bytes, StreamFault>>, sse: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let chunks = std::sync::Arc::new(std::sync::Mutex::new(Some(chunks)));
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let chunks = chunks.lock().unwrap().take().unwrap_or_default();
                async move {
                    Response::new(client_body(
                        sse,
                        ErrorShape::OpenAi,
                        futures::stream::iter(chunks),
                    ))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut received = Vec::new();
        let _ = socket.read_to_end(&mut received).await;
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_body_failing_right_after_its_first_chunk_still_sends_the_head() {
        // The failure is ready at once, as when a flight's listener catches
        // up on a leader that already saw the upstream break.
        let chunks = vec![
            Ok(Bytes::from_static(b"{\"id\":\"cut")),
            Err(StreamFault::Broken),
        ];
        let received = served(chunks, false).await;
        assert!(received.starts_with("HTTP/1.1 200 OK"), "{received:?}");
        assert!(received.contains("{\"id\":\"cut"), "{received:?}");
        assert!(
            !received.ends_with("0\r\n\r\n"),
            "the body must not end cleanly"
        );
    }
}
