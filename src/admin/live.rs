//! `GET /api/live`: finished requests as they happen, pushed to the
//! dashboard as server-sent events.
//!
//! The request path only ever calls [`LiveFeed::publish`]: with nobody
//! watching it is one atomic load and nothing is built; with viewers, the
//! event is written once and shared by a bounded broadcast channel. A viewer
//! that falls [`BACKLOG`] events behind loses the oldest and is told how
//! many (`event: dropped`), so a slow browser never holds up a request or
//! grows the gateway's memory.
//!
//! The feed is read with `fetch` (the access key in a header, never in a
//! URL), so it is a plain `text/event-stream` body rather than something
//! only `EventSource` could open.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// Events a viewer may fall behind before it loses the oldest: a few
/// seconds of a busy gateway, a few hundred KB at most.
pub const BACKLOG: usize = 1024;

/// How often an idle feed sends a comment, so proxies and browsers keep
/// the connection and a viewer learns soon that the server is gone.
const PING_EVERY: Duration = Duration::from_secs(15);

/// The broadcast of finished requests; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed(Arc<Inner>);

struct Inner {
    sender: broadcast::Sender<Arc<str>>,
    /// Events viewers lost by being slow, over the server's life.
    dropped: AtomicU64,
    /// The server stopped accepting: feeds end.
    closing: CancellationToken,
}

impl LiveFeed {
    /// A feed that ends every viewer's stream when `closing` is cancelled.
    pub fn new(closing: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self(Arc::new(Inner {
            sender,
            dropped: AtomicU64::new(0),
            closing,
        }))
    }

    /// Whether anybody is watching (so an event is worth building).
    pub fn watched(&self) -> bool {
        self.0.sender.receiver_count() > 0
    }

    /// Sends the event `event` writes (one JSON object) to every viewer;
    /// `event` runs only when somebody is watching.
    pub fn publish(&self, event: impl FnOnce() -> String) {
        if self.watched() {
            // Err only when the last viewer left meanwhile.
            let _ = self.0.sender.send(Arc::from(event()));
        }
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> usize {
        self.0.sender.receiver_count()
    }

    /// Events viewers lost by falling behind.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

/// `GET /api/live`.
pub async fn live(State(feed): State<LiveFeed>) -> Response {
    let receiver = feed.0.sender.subscribe();
    let events = futures::stream::unfold(
        (feed, receiver, ping_timer()),
        |(feed, mut receiver, mut ping)| async move {
            let frame = next_frame(&feed, &mut receiver, &mut ping).await?;
            Some((Ok::<_, Infallible>(frame), (feed, receiver, ping)))
        },
    );
    (
        [
            (CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// Ticks every [`PING_EVERY`], the first time after one period (a new
/// viewer needs no ping).
fn ping_timer() -> tokio::time::Interval {
    tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY)
}

/// The next thing to write to one viewer; `None` ends its stream.
async fn next_frame(
    feed: &LiveFeed,
    receiver: &mut broadcast::Receiver<Arc<str>>,
    ping: &mut tokio::time::Interval,
) -> Option<Bytes> {
    // Biased: once the server is stopping, the viewer's backlog is not worth
    // sending (and a random pick would keep a draining server waiting on it).
    tokio::select! {
        biased;
        () = feed.0.closing.cancelled() => None,
        received = receiver.recv() => match received {
            Ok(event) => Some(frame("request", &event)),
            Err(RecvError::Lagged(missed)) => {
                feed.0.dropped.fetch_add(missed, Ordering::Relaxed);
                Some(frame("dropped", &format!("{{\"dropped\":{missed}}}")))
            }
            Err(RecvError::Closed) => None,
        },
        _ = ping.tick() => Some(Bytes::from_static(b": ping\n\n")),
    }
}

/// One SSE event; `data` is one line of JSON.
fn frame(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_is_built_without_viewers_and_a_slow_viewer_is_told_what_it_missed() {
        let feed = LiveFeed::new(CancellationToken::new());
        feed.publish(|| unreachable!("no viewer, no event"));
        let mut receiver = feed.0.sender.subscribe();
        for n in 0..BACKLOG + 3 {
            feed.publish(|| format!("{{\"n\":{n}}}"));
        }
        let mut ping = tokio::time::interval(Duration::from_secs(3600));
        ping.tick().await;
        let first = next_frame(&feed, &mut receiver, &mut ping).await.unwrap();
        assert_eq!(&first[..], b"event: dropped\ndata: {\"dropped\":3}\n\n");
        assert_eq!(feed.dropped(), 3);
        let next = next_frame(&feed, &mut receiver, &mut ping).await.unwrap();
        assert_eq!(&next[..], b"event: request\ndata: {\"n\":3}\n\n");
        feed.0.closing.cancel();
        assert!(next_frame(&feed, &mut receiver, &mut ping).await.is_none());
    }
}
