//! The outermost layer of every request: request id, the host and origin
//! checks for web pages ([`crate::browser`]), the provider header, and the
//! request-log line.
//!
//! It runs before everything else and its body wrapper runs after
//! everything else: the log line is written when the response body ends —
//! completely, by an upstream failure, because the client went away, or
//! because a shutdown's grace period ran out — so every request is logged
//! exactly once, with its real outcome, total time and byte count.
//!
//! At the end of a shutdown's grace period ([`crate::server`]) a request
//! still waiting for its answer gets 503 `server_shutdown`, and an answer
//! still streaming ends with a final error event of that code (a JSON body
//! is cut after what was sent); either is logged and recorded with outcome
//! `shutdown` and the tokens seen so far.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::app::AppState;
use crate::error::ErrorCode;
use crate::request_log::{LogSlot, MAX_LOGGED_BODY_BYTES, Record};
use crate::usage::record::Finished;

/// Echoed from the client, or generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Which provider answered; `llm-bridge` when the gateway answered itself.
pub const PROVIDER: HeaderName = HeaderName::from_static("x-llm-bridge-provider");
const SELF_PROVIDER: HeaderValue = HeaderValue::from_static("llm-bridge");

/// Longest client request id echoed back; longer or unusual ones are
/// replaced, so a request id can never smuggle anything into a header or log.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request id, for handlers that need it.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Middleware: see the module docs.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let arrived_ms = chrono::Utc::now().timestamp_millis();
    let request_id = request_id(&request);
    let slot = LogSlot::default();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(slot.clone());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));

    let checked = {
        let live = state.live();
        let limit = state.config.server.max_header_bytes;
        match crate::server::head_too_large(&request, limit) {
            true => Err(crate::error::AppError::HeadersTooLarge { limit }),
            false => live
                .hosts
                .check(request.headers(), request.uri())
                .and_then(|()| live.origins.check(request.headers())),
        }
    };
    let mut cut_early = false;
    let mut response = match checked {
        Ok(()) => tokio::select! {
            response = next.run(request) => response,
            () = state.streams_cut().cancelled() => {
                cut_early = true;
                crate::error::AppError::ShuttingDown.into_response()
            }
        },
        Err(error) => error.into_response(),
    };

    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, request_id.clone());
    if !headers.contains_key(PROVIDER) {
        headers.insert(PROVIDER, SELF_PROVIDER);
    }
    let error = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let content_type = response.headers().get(axum::http::header::CONTENT_TYPE);
    let is_sse = crate::proxy::body_kind(content_type) == Some(crate::cache::BodyKind::Sse);
    let (parts, body) = response.into_parts();
    let observer = Observer {
        _in_flight: state.metrics.request_started(),
        state: state.clone(),
        started,
        arrived_ms,
        first_byte: None,
        bytes: 0,
        body_copy: state.request_log.log_bodies().then(Vec::new),
        request_id,
        method,
        path,
        status: parts.status,
        error,
        slot,
        finished: false,
        cut_early,
    };
    Response::from_parts(
        parts,
        Body::new(ObservedBody {
            inner: body,
            observer,
            cut: None,
            ending: Ending::Running,
            is_sse,
            at_event_boundary: true,
        }),
    )
}

/// Request ids the gateway makes: a random prefix drawn once per process and
/// a counter, unique without a random-number syscall per request.
fn new_request_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}{n:016x}")).unwrap_or(SELF_PROVIDER)
}

fn request_id(request: &Request) -> HeaderValue {
    let from_client = request.headers().get(REQUEST_ID).filter(|value| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    });
    match from_client {
        Some(value) => value.clone(),
        None => new_request_id(),
    }
}

/// How a response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Complete,
    ClientClosed,
    UpstreamError,
    /// Ended by the server at the close of a shutdown's grace period.
    Shutdown,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::ClientClosed => "client_closed",
            Self::UpstreamError => "upstream_error",
            Self::Shutdown => "shutdown",
        }
    }
}

struct Observer {
    state: AppState,
    /// Counts the request in flight until its response ends.
    _in_flight: crate::metrics::InFlightGuard,
    started: Instant,
    /// When the request arrived, Unix ms (for the usage record).
    arrived_ms: i64,
    first_byte: Option<Instant>,
    bytes: u64,
    body_copy: Option<Vec<u8>>,
    request_id: HeaderValue,
    method: Method,
    path: String,
    status: StatusCode,
    error: Option<&'static str>,
    slot: LogSlot,
    finished: bool,
    /// Answered 503 because the grace period ran out before the answer.
    cut_early: bool,
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
        let outcome = match self.cut_early {
            true => Outcome::Shutdown,
            false => outcome,
        };
        let entry = self.slot.snapshot();
        let ms = |at: Instant| {
            (at.duration_since(self.started).as_secs_f64() * 1_000_000.0).round() / 1000.0
        };
        let total_ms = ms(Instant::now());
        let ttfb_ms = self.first_byte.map(ms);
        let request_id = self.request_id.to_str().unwrap_or("-");
        let record = Record {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            request_id,
            method: self.method.as_str(),
            path: &self.path,
            key_id: entry.key_id.as_deref(),
            model: entry.model.as_deref(),
            provider: entry.provider.as_deref(),
            upstream_model: entry.upstream_model.as_deref(),
            stream: entry.stream,
            cache: entry.cache,
            cache_key: entry.cache_key.as_deref(),
            status: self.status.as_u16(),
            error: self.error,
            outcome: outcome.as_str(),
            ttfb_ms,
            total_ms,
            bytes: self.bytes,
            request_body: entry
                .request_body
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            response_body: self
                .body_copy
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        };
        self.state.request_log.write(&record);
        if entry.metering.chat {
            let finished = Finished {
                time_ms: self.arrived_ms,
                request_id,
                entry: &entry,
                status: self.status.as_u16(),
                ttfb_ms,
                total_ms,
            };
            crate::usage::account::account(&self.state, &finished);
        }
        // Per-request lines on stderr only at debug level: the request log
        // already has them, and each line costs a wake-up of the writer.
        tracing::debug!(
            "{} {} {} {} -> {} {} {:.1}ms {}",
            request_id,
            self.method,
            self.path,
            entry.model.as_deref().unwrap_or("-"),
            entry.provider.as_deref().unwrap_or("-"),
            self.status.as_u16(),
            total_ms,
            outcome.as_str(),
        );
    }
}

/// A response body that reports to its [`Observer`] as frames pass, and
/// ends early when a shutdown's grace period is over.
struct ObservedBody {
    inner: Body,
    observer: Observer,
    /// The end of the grace period, watched once the body has had to wait.
    cut: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    ending: Ending,
    is_sse: bool,
    /// The last data ended an SSE event (so an error event can follow).
    at_event_boundary: bool,
}

/// Where an answer ended by the shutdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Running,
    /// A JSON body is cut: pending once so what was sent is flushed.
    Flushing,
    /// Then it fails, so the client sees a cut body, not a whole one.
    Failing,
    Ended,
}

/// The last event of a stream the shutdown ends.
fn shutdown_event(at_event_boundary: bool) -> Bytes {
    let error = serde_json::json!({"error": {
        "message": "llm-bridge is shutting down: the answer was cut before its end",
        "type": "server_error",
        "param": null,
        "code": "server_shutdown",
    }});
    let lead = if at_event_boundary { "" } else { "\n\n" };
    Bytes::from(format!("{lead}data: {error}\n\n"))
}

impl ObservedBody {
    /// Whether the grace period is over; registers for the wake-up.
    fn cut_now(&mut self, cx: &mut Context<'_>) -> bool {
        use std::future::Future;

        let cut = self.cut.get_or_insert_with(|| {
            Box::pin(self.observer.state.streams_cut().clone().cancelled_owned())
        });
        cut.as_mut().poll(cx).is_ready()
    }

    /// Ends the answer for the shutdown: the inner body goes first (so what
    /// it saw of the usage is in the log slot), then the record.
    fn end_for_shutdown(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.inner = Body::empty();
        self.observer.finish(Outcome::Shutdown);
        if self.is_sse {
            self.ending = Ending::Ended;
            let event = shutdown_event(self.at_event_boundary);
            return Poll::Ready(Some(Ok(Frame::data(event))));
        }
        self.ending = Ending::Flushing;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl HttpBody for ObservedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match this.ending {
            Ending::Running => {}
            Ending::Flushing => {
                this.ending = Ending::Failing;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Ending::Failing => {
                this.ending = Ending::Ended;
                return Poll::Ready(Some(Err(axum::Error::new("the server is shutting down"))));
            }
            Ending::Ended => return Poll::Ready(None),
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.observer.on_data(data);
                    if this.is_sse && !data.is_empty() {
                        this.at_event_boundary =
                            data.ends_with(b"\n\n") || data.ends_with(b"\r\n\r\n");
                    }
                }
            }
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
        // log slot before the record is built.
        self.inner = Body::empty();
        self.observer.finish(outcome);
    }
}
