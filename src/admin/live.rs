//! `GET /api/live`: finished requests as they happen, pushed to the
//! dashboard as server-sent events.
//!
//! The request path asks [`LiveFeed::take_slot`] and, given one, builds
//! the event and [`LiveFeed::publish`]es it: with nobody watching that is
//! one atomic load and nothing is built; with viewers, the event is written
//! once and shared by a bounded broadcast channel, which each viewer drains
//! every [`DELIVERY_EVERY`]. At most [`EVENTS_PER_SECOND`] events are built
//! (a person cannot read more, and each costs the request path a few
//! microseconds); past that, requests are skipped and counted. A viewer
//! that falls [`BACKLOG`] events behind loses the oldest. Either way the
//! viewer is told how many it missed (`event: dropped`), so a slow browser
//! or a flood of requests never holds up a request or grows the gateway's
//! memory.
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
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio_util::sync::CancellationToken;

/// Events a viewer may fall behind before it loses the oldest: with a
/// delivery every [`DELIVERY_EVERY`], 40,000 requests a second reach every
/// viewer; the frames held are about 1 KB each, 2 MB at most.
pub const BACKLOG: usize = 2048;

/// How often a viewer's stream takes what has arrived. Events are written
/// to a viewer in one chunk per tick, so a busy gateway wakes each viewer
/// 20 times a second rather than once a request, and a request only puts
/// its frame in the ring (no wake-up, no system call on its behalf); a
/// person watching sees a row at most this late.
pub const DELIVERY_EVERY: Duration = Duration::from_millis(50);

/// Most events built a second, in windows of [`DELIVERY_EVERY`]. Below
/// it every request is shown; a gateway busier than this shows a sample
/// and says how many it skipped.
pub const EVENTS_PER_SECOND: u64 = 2000;
const WINDOW_MS: u64 = DELIVERY_EVERY.as_millis() as u64;
const EVENTS_PER_WINDOW: u64 = EVENTS_PER_SECOND * WINDOW_MS / 1000;

/// How often an idle feed sends a comment, so proxies and browsers keep
/// the connection and a viewer learns soon that the server is gone.
const PING_EVERY: Duration = Duration::from_secs(15);

/// The broadcast of finished requests; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed(Arc<Inner>);

struct Inner {
    /// Whole SSE frames, built once and shared by every viewer.
    sender: broadcast::Sender<Bytes>,
    /// Events viewers lost by being slow, over the server's life.
    dropped: AtomicU64,
    /// Requests not shown because the feed was at [`EVENTS_PER_SECOND`].
    skipped: AtomicU64,
    /// The current window (ms since `started` / [`WINDOW_MS`]) in the
    /// high bits, events built in it in the low 16.
    window: AtomicU64,
    started: std::time::Instant,
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
            skipped: AtomicU64::new(0),
            window: AtomicU64::new(0),
            started: std::time::Instant::now(),
            closing,
        }))
    }

    /// Whether anybody is watching (so an event is worth building).
    pub fn watched(&self) -> bool {
        self.0.sender.receiver_count() > 0
    }

    /// Whether to build this request's event: somebody watches and the
    /// feed is under [`EVENTS_PER_SECOND`] (a request past it is counted
    /// as skipped).
    pub fn take_slot(&self) -> bool {
        if !self.watched() {
            return false;
        }
        let elapsed = self.0.started.elapsed().as_millis() as u64;
        let window = elapsed / WINDOW_MS;
        let taken = self
            .0
            .window
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                let (current, count) = (state >> 16, state & 0xffff);
                match (current == window, count < EVENTS_PER_WINDOW) {
                    (false, _) => Some((window << 16) | 1),
                    (true, true) => Some(state + 1),
                    (true, false) => None,
                }
            })
            .is_ok();
        if !taken {
            self.0.skipped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Sends `event` (one JSON object) to every viewer; call it after
    /// [`Self::take_slot`] said yes.
    pub fn publish(&self, event: &str) {
        // Err only when the last viewer left meanwhile.
        let _ = self.0.sender.send(frame("request", event));
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> usize {
        self.0.sender.receiver_count()
    }

    /// Events viewers did not get: lost by falling behind, or skipped
    /// past [`EVENTS_PER_SECOND`].
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed) + self.0.skipped.load(Ordering::Relaxed)
    }
}

/// `GET /api/live`.
pub async fn live(State(feed): State<LiveFeed>) -> Response {
    let viewer = Viewer::new(feed);
    let events = futures::stream::unfold(viewer, |mut viewer| async move {
        let batch = viewer.next_batch().await?;
        Some((Ok::<_, Infallible>(batch), viewer))
    });
    (
        [
            (CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// One viewer's end of the feed.
struct Viewer {
    feed: LiveFeed,
    receiver: broadcast::Receiver<Bytes>,
    tick: tokio::time::Interval,
    /// When this viewer was last written to, for the idle ping.
    last_write: tokio::time::Instant,
    /// The feed's skipped count this viewer was last told of.
    skipped_seen: u64,
}

impl Viewer {
    fn new(feed: LiveFeed) -> Self {
        let receiver = feed.0.sender.subscribe();
        let skipped_seen = feed.0.skipped.load(Ordering::Relaxed);
        let mut tick = tokio::time::interval(DELIVERY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            feed,
            receiver,
            tick,
            last_write: tokio::time::Instant::now(),
            skipped_seen,
        }
    }

    /// What arrived since the last tick as one chunk (a ping after
    /// [`PING_EVERY`] without any); `None` ends the stream.
    async fn next_batch(&mut self) -> Option<Bytes> {
        loop {
            // Biased: once the server is stopping, the backlog is not worth
            // sending (and a random pick would keep a draining server
            // waiting on it).
            tokio::select! {
                biased;
                () = self.feed.0.closing.cancelled() => return None,
                _ = self.tick.tick() => {}
            }
            let batch = self.drain()?;
            let now = tokio::time::Instant::now();
            if !batch.is_empty() {
                self.last_write = now;
                return Some(batch);
            }
            if now.duration_since(self.last_write) >= PING_EVERY {
                self.last_write = now;
                return Some(Bytes::from_static(b": ping\n\n"));
            }
        }
    }

    /// Every frame waiting, with a `dropped` event where the viewer lost
    /// some (or the feed skipped some); `None` once the feed is gone.
    fn drain(&mut self) -> Option<Bytes> {
        let mut batch = Vec::new();
        let dropped = |batch: &mut Vec<u8>, missed: u64| {
            batch.extend_from_slice(&frame("dropped", &format!("{{\"dropped\":{missed}}}")));
        };
        loop {
            match self.receiver.try_recv() {
                Ok(frame) => batch.extend_from_slice(&frame),
                Err(TryRecvError::Lagged(missed)) => {
                    self.feed.0.dropped.fetch_add(missed, Ordering::Relaxed);
                    dropped(&mut batch, missed);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return None,
            }
        }
        let skipped = self.feed.0.skipped.load(Ordering::Relaxed);
        if skipped > self.skipped_seen {
            dropped(&mut batch, skipped - self.skipped_seen);
            self.skipped_seen = skipped;
        }
        Some(Bytes::from(batch))
    }
}

/// One SSE event; `data` is one line of JSON.
fn frame(name: &str, data: &str) -> Bytes {
    let mut frame = String::with_capacity(name.len() + data.len() + 16);
    for part in ["event: ", name, "\ndata: ", data, "\n\n"] {
        frame.push_str(part);
    }
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn nothing_is_built_without_viewers_and_a_slow_viewer_is_told_what_it_missed() {
        let feed = LiveFeed::new(CancellationToken::new());
        assert!(!feed.take_slot(), "no viewer, no event");
        let mut viewer = Viewer::new(feed.clone());
        for n in 0..BACKLOG + 3 {
            feed.publish(&format!("{{\"n\":{n}}}"));
        }
        let batch = viewer.next_batch().await.unwrap();
        let text = std::str::from_utf8(&batch).unwrap();
        let frames: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(frames[0], "event: dropped\ndata: {\"dropped\":3}");
        assert_eq!(frames[1], "event: request\ndata: {\"n\":3}");
        assert_eq!(frames.len(), BACKLOG + 1);
        assert_eq!(feed.dropped(), 3);
        // Quiet: a ping once PING_EVERY has passed (time is paused and
        // moves on by itself), then the end when the server stops.
        assert_eq!(&viewer.next_batch().await.unwrap()[..], b": ping\n\n");
        feed.publish("{}");
        feed.0.closing.cancel();
        assert!(viewer.next_batch().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_rate_a_request_is_skipped_and_the_viewer_told() {
        let feed = LiveFeed::new(CancellationToken::new());
        let mut viewer = Viewer::new(feed.clone());
        let slots = (0..EVENTS_PER_WINDOW + 5)
            .filter(|_| feed.take_slot())
            .inspect(|_| feed.publish("{}"))
            .count() as u64;
        // Unless the window turned meanwhile (then more were allowed).
        assert!(slots >= EVENTS_PER_WINDOW, "{slots}");
        let skipped = EVENTS_PER_WINDOW + 5 - slots;
        let batch = viewer.next_batch().await.unwrap();
        let text = std::str::from_utf8(&batch).unwrap();
        if skipped > 0 {
            assert!(
                text.ends_with(&format!(
                    "event: dropped\ndata: {{\"dropped\":{skipped}}}\n\n"
                )),
                "{text}"
            );
        }
        assert_eq!(feed.dropped(), skipped);
    }
}
