//! A scriptable upstream on a loopback port, shared by the integration
//! tests and the benchmark (`examples/mock_upstream.rs`, which compiles this
//! folder in through `#[path]`).
//!
//! This module owns the server and what is common to every dialect: the
//! state, the recording of every request it sees (under any path prefix, so
//! each provider can get its own), the script of [`Reply`]s, the gates a
//! test releases, and the routing by path. Each dialect's wire (the default
//! answer, and the builders tests script answers with) lives in a file of
//! its own: [`openai_chat`] (`POST …/chat/completions`), [`openai_more`]
//! (legacy completions, embeddings, Responses), [`anthropic`] (Messages,
//! token counting) and [`gemini`] (`generateContent`, streamed or not). Another
//! dialect is a new file and one line in [`DIALECTS`].
//!
//! A request is answered with the next scripted [`Reply`] if there is one,
//! else with its dialect's default answer; a path no dialect serves gets a
//! 404 (and is still recorded and counted).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

pub mod anthropic;
pub mod gemini;
pub mod openai_chat;
pub mod openai_more;

// The tests' names for the OpenAI builders (`use crate::mock_upstream::*`);
// the example program uses none of them.
#[allow(unused_imports)]
pub use anthropic::{
    anthropic_error, anthropic_event, anthropic_events, anthropic_message, anthropic_text,
    anthropic_thinking, anthropic_tool_use,
};
#[allow(unused_imports)]
pub use gemini::{gemini_error, gemini_events, gemini_function_call, gemini_response, gemini_text};
#[allow(unused_imports)]
pub use openai_chat::{SSE_DONE, completion, content_chunk, sse_answer, sse_event};
#[allow(unused_imports)]
pub use openai_more::{embeddings_answer, mock_embedding, mock_embedding_tokens, response_object};

/// A dialect's answer when nothing is scripted, from the options and the
/// request's JSON body (`null` when it is not JSON).
pub type DefaultReply = fn(&MockOptions, &Value) -> Reply;

/// The dialects the mock speaks, by how the request path ends; the first
/// match answers. One line per dialect.
pub const DIALECTS: &[(&str, DefaultReply)] = &[
    ("/chat/completions", openai_chat::default_reply),
    ("/messages", anthropic::default_reply),
    ("/messages/count_tokens", anthropic::count_tokens_reply),
    (":generateContent", gemini::generate_reply),
    (":streamGenerateContent", gemini::stream_reply),
    ("/completions", openai_more::completions_reply),
    ("/embeddings", openai_more::embeddings_reply),
    ("/responses", openai_more::responses_reply),
];

/// How the default reply behaves (the benchmark tunes these).
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Content chunks in a default streamed answer.
    pub stream_chunks: usize,
    /// Pause before each content chunk of a default streamed answer.
    pub chunk_delay: Duration,
    /// Keep every request for [`MockUpstream::recorded`]; the benchmark
    /// turns this off so memory stays flat over millions of requests.
    pub record: bool,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            stream_chunks: 3,
            chunk_delay: Duration::ZERO,
            record: true,
        }
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with this status.
    Json(StatusCode, Value),
    /// Any body with this status and content type.
    Raw(StatusCode, &'static str, String),
    /// SSE: each string is written as its own chunk.
    Sse(Vec<String>),
    /// SSE: `before` is sent, then the mock waits for [`MockUpstream::release`]
    /// before sending `after`.
    GatedSse {
        before: Vec<String>,
        after: Vec<String>,
    },
    /// SSE that breaks off: `events` are sent, then the mock waits for
    /// [`MockUpstream::release`] (so the events surely left) and cuts the
    /// connection.
    CutSse(Vec<String>),
    /// Waits for [`MockUpstream::release`], then answers with this JSON.
    GatedJson(StatusCode, Value),
    /// A 200 JSON answer that breaks off: this much of its body is sent
    /// (and flushed), then the connection is reset.
    CutJson(String),
    /// Never answers.
    Stall,
    /// Another reply with extra response headers (e.g. `retry-after`).
    WithHeaders(Vec<(&'static str, String)>, Box<Reply>),
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// The query string (`alt=sse`), empty without one.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("upstream body is JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    }
}

struct MockState {
    options: MockOptions,
    recorded: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<Reply>>,
    hits: AtomicUsize,
    released: Semaphore,
    request_seen: Notify,
    /// One permit each time a streamed body is finished or dropped.
    streams_ended: Semaphore,
}

/// A running mock upstream.
pub struct MockUpstream {
    pub addr: SocketAddr,
    state: Arc<MockState>,
}

impl MockUpstream {
    /// Starts on a free loopback port with default options.
    pub async fn start() -> Self {
        Self::start_with(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            MockOptions::default(),
        )
        .await
    }

    /// Starts on `listener`.
    pub async fn start_with(listener: TcpListener, options: MockOptions) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(MockState {
            options,
            recorded: Mutex::new(Vec::new()),
            replies: Mutex::new(VecDeque::new()),
            hits: AtomicUsize::new(0),
            released: Semaphore::new(0),
            request_seen: Notify::new(),
            streams_ended: Semaphore::new(0),
        });
        let app = Router::new()
            .route("/{*path}", post(serve_request))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues a reply for the next request.
    pub fn push_reply(&self, reply: Reply) {
        self.state.replies.lock().unwrap().push_back(reply);
    }

    /// Lets a [`Reply::GatedSse`] send the rest of its events.
    pub fn release(&self) {
        self.state.released.add_permits(1);
    }

    /// Waits until a streamed body the mock sent has ended or was dropped
    /// (the gateway closed the connection), at most `patience`.
    pub async fn stream_ended(&self, patience: std::time::Duration) {
        tokio::time::timeout(patience, self.state.streams_ended.acquire())
            .await
            .expect("an upstream stream ended in time")
            .unwrap()
            .forget();
    }

    /// Waits until at least `count` requests have arrived, at most
    /// `patience`.
    pub async fn wait_for_hits(&self, count: usize, patience: std::time::Duration) {
        tokio::time::timeout(patience, async {
            loop {
                let seen = self.state.request_seen.notified();
                if self.hits() >= count {
                    return;
                }
                seen.await;
            }
        })
        .await
        .expect("the upstream saw the requests in time");
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Every request so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.state.recorded.lock().unwrap().clone()
    }

    /// The `authorization` header of every request so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.recorded()
            .iter()
            .map(|r| r.header("authorization").unwrap_or_default())
            .collect()
    }

    /// The only request so far.
    pub fn single(&self) -> Recorded {
        let recorded = self.recorded();
        assert_eq!(recorded.len(), 1, "expected one upstream request");
        recorded.into_iter().next().unwrap()
    }
}

/// Counts and records every request, then answers it in the dialect its
/// path names.
async fn serve_request(
    State(state): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    if state.options.record {
        state.recorded.lock().unwrap().push(Recorded {
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            headers,
            body: body.clone(),
        });
    }
    state.request_seen.notify_waiters();
    let path = uri.path();
    let Some((_, default_reply)) = DIALECTS.iter().find(|(end, _)| path.ends_with(end)) else {
        return (StatusCode::NOT_FOUND, "no such path").into_response();
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = state.replies.lock().unwrap().pop_front();
    let reply = scripted.unwrap_or_else(|| default_reply(&state.options, &request));
    answer(&state, reply).await
}

async fn answer(state: &Arc<MockState>, reply: Reply) -> Response {
    let state = Arc::clone(state);
    match reply {
        Reply::WithHeaders(headers, inner) => {
            let mut response = Box::pin(answer(&state, *inner)).await;
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Reply::Json(status, value) => (status, axum::Json(value)).into_response(),
        Reply::Raw(status, content_type, text) => {
            (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
        }
        Reply::Sse(events) => {
            let delay = state.options.chunk_delay;
            sse(&state, paced(events, delay))
        }
        Reply::GatedSse { before, after } => {
            let gate_state = Arc::clone(&state);
            let gate = futures::stream::once(async move {
                gate_state.released.acquire().await.unwrap().forget();
                futures::stream::iter(after)
            })
            .flatten();
            let events = futures::stream::iter(before).chain(gate);
            sse(&state, events.map(Ok::<_, std::io::Error>).boxed())
        }
        Reply::GatedJson(status, value) => {
            state.released.acquire().await.unwrap().forget();
            (status, axum::Json(value)).into_response()
        }
        Reply::CutSse(events) => {
            let gate_state = Arc::clone(&state);
            let cut = futures::stream::once(async move {
                gate_state.released.acquire().await.unwrap().forget();
                Err(std::io::Error::other("cut"))
            });
            sse(
                &state,
                futures::stream::iter(events).map(Ok).chain(cut).boxed(),
            )
        }
        Reply::CutJson(partial) => {
            let body =
                futures::stream::iter([Ok(Bytes::from(partial))]).chain(FlushThenFail::new());
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }
        Reply::Stall => {
            std::future::pending::<()>().await;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

type EventStream = futures::stream::BoxStream<'static, Result<String, std::io::Error>>;

fn paced(events: Vec<String>, delay: Duration) -> EventStream {
    if delay.is_zero() {
        return futures::stream::iter(events).map(Ok).boxed();
    }
    futures::stream::iter(events)
        .then(move |event| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, std::io::Error>(event)
        })
        .boxed()
}

/// Pending once (so hyper writes out what it holds), then an error (so it
/// resets the connection instead of ending the body).
struct FlushThenFail {
    flushed: bool,
}

impl FlushThenFail {
    fn new() -> Self {
        Self { flushed: false }
    }
}

impl futures::Stream for FlushThenFail {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if std::mem::replace(&mut self.flushed, true) {
            return std::task::Poll::Ready(Some(Err(std::io::Error::other("cut"))));
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// Signals `streams_ended` when a streamed body goes away, however it ends.
struct StreamEnd(Arc<MockState>);

impl Drop for StreamEnd {
    fn drop(&mut self) {
        self.0.streams_ended.add_permits(1);
    }
}

fn sse(state: &Arc<MockState>, events: EventStream) -> Response {
    let guard = StreamEnd(Arc::clone(state));
    let events = events.map(move |event| {
        let _keep = &guard;
        event
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(events))
        .unwrap()
}
