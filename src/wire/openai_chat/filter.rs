//! Keeping usage-only chunks (empty `choices`, a `usage`) from a client
//! that did not ask for them: the gateway asks providers for usage on every
//! stream, and the client must still receive exactly what it asked for.
//! [`UsageFilter`] passes chunks on as they come; it holds back only the
//! start of an event that could still turn out to be a usage-only chunk
//! (one that has not shown `"choices":[{` yet), until it does or ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::Stream;

use super::is_usage_only;
use crate::stream::sse::{ends_event, event_data, event_end};
use crate::stream::{Chunk, StreamFault};

/// A stream of chunks without its usage-only events.
pub struct UsageFilter<S> {
    inner: S,
    /// The current event, whose end has not arrived yet.
    partial: Vec<u8>,
    /// How much of `partial` was already passed on: an event is let through
    /// as soon as it cannot be a usage-only chunk.
    sent: usize,
    /// An error to hand on after the partial event that preceded it.
    failed: Option<StreamFault>,
}

/// An unfinished event this long is passed on rather than held.
const MAX_HELD_BYTES: usize = 64 * 1024;

impl<S> UsageFilter<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            partial: Vec::new(),
            sent: 0,
            failed: None,
        }
    }

    /// What of `chunk` can go on now: complete events that are not
    /// usage-only, and the start of an event that clearly is not one.
    fn filter(&mut self, chunk: &Bytes) -> Bytes {
        let plain = self.partial.is_empty()
            && ends_event(chunk)
            && !chunk.windows(7).any(|w| w == b"\"usage\"");
        if plain {
            return chunk.clone();
        }
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.partial.len());
        while let Some(end) = event_end(&self.partial) {
            let event = &self.partial[..end];
            if self.sent > 0 || !is_usage_only_event(event) {
                out.extend_from_slice(&event[self.sent.min(end)..]);
            }
            self.partial.drain(..end);
            self.sent = 0;
        }
        let clearly_content = self.partial.windows(12).any(|w| w == b"\"choices\":[{")
            || self.partial.len() > MAX_HELD_BYTES;
        if self.sent > 0 || clearly_content {
            out.extend_from_slice(&self.partial[self.sent..]);
            self.sent = self.partial.len();
        }
        Bytes::from(out)
    }

    /// The held part of an unfinished event, handed on at the end.
    fn unsent(&mut self) -> Option<Bytes> {
        let rest = self.partial.split_off(self.sent.min(self.partial.len()));
        self.partial.clear();
        self.sent = 0;
        (!rest.is_empty()).then(|| Bytes::from(rest))
    }
}

impl<S: Stream<Item = Chunk> + Unpin> Stream for UsageFilter<S> {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        if let Some(fault) = this.failed.take() {
            return Poll::Ready(Some(Err(fault)));
        }
        loop {
            return match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let kept = this.filter(&chunk);
                    // A chunk that was all usage (or all held back) is not
                    // sent as an empty frame: read on.
                    if kept.is_empty() && !chunk.is_empty() {
                        continue;
                    }
                    Poll::Ready(Some(Ok(kept)))
                }
                // What arrived before a failure still reaches the client,
                // then the failure.
                Poll::Ready(Some(Err(fault))) => match this.unsent() {
                    Some(rest) => {
                        this.failed = Some(fault);
                        Poll::Ready(Some(Ok(rest)))
                    }
                    None => Poll::Ready(Some(Err(fault))),
                },
                Poll::Ready(None) => Poll::Ready(this.unsent().map(Ok)),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// A whole stored stream without its usage-only events (the same rule as
/// [`UsageFilter`], so a replay and a live answer agree); every other byte
/// is kept as it was.
pub fn without_usage_events(sse: &Bytes) -> Bytes {
    let mut filter = UsageFilter::new(futures::stream::empty::<Chunk>());
    let kept = UsageFilter::filter(&mut filter, sse);
    match filter.unsent() {
        Some(rest) => Bytes::from([kept.as_ref(), rest.as_ref()].concat()),
        None => kept,
    }
}

fn is_usage_only_event(event: &[u8]) -> bool {
    event_data(event).is_some_and(|data| is_usage_only(&data))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    const CONTENT: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n";
    const FINISH: &str =
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
    const USAGE: &str =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    async fn filtered(chunks: Vec<&str>) -> (String, usize) {
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok(Bytes::from(c.to_string())))
                .collect::<Vec<Chunk>>(),
        );
        let out: Vec<Chunk> = UsageFilter::new(stream).collect().await;
        let frames = out.len();
        let text = out
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap())
            .collect();
        (text, frames)
    }

    #[tokio::test]
    async fn drops_only_the_usage_only_chunk() {
        let (text, frames) = filtered(vec![CONTENT, FINISH, USAGE, DONE]).await;
        assert_eq!(text, [CONTENT, FINISH, DONE].concat());
        assert_eq!(frames, 3, "no empty frame for the dropped chunk");
    }

    #[tokio::test]
    async fn events_split_across_chunks_are_kept_whole() {
        let all = [CONTENT, USAGE, DONE].concat();
        let pieces: Vec<&str> = (0..all.len())
            .step_by(7)
            .map(|i| &all[i..(i + 7).min(all.len())])
            .collect();
        let (text, _) = filtered(pieces).await;
        assert_eq!(text, [CONTENT, DONE].concat());
    }

    #[tokio::test]
    async fn a_content_event_split_in_two_is_not_held_back() {
        let (first, second) = CONTENT.split_at(30);
        assert!(first.contains("\"choices\":[{"));
        let stream = futures::stream::iter(vec![
            Ok(Bytes::from(first.to_string())),
            Ok(Bytes::from(second.to_string())),
            Err(StreamFault::Broken),
        ]);
        let out: Vec<Chunk> = UsageFilter::new(stream).collect().await;
        assert_eq!(out[0].as_ref().unwrap(), first.as_bytes(), "passed at once");
        assert_eq!(out[1].as_ref().unwrap(), second.as_bytes());
        assert_eq!(out[2], Err(StreamFault::Broken));
    }

    #[tokio::test]
    async fn a_held_half_event_still_comes_before_a_failure() {
        let stream = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"data: {\"id\":\"half")),
            Err(StreamFault::Broken),
        ]);
        let out: Vec<Chunk> = UsageFilter::new(stream).collect().await;
        assert_eq!(out[0].as_ref().unwrap(), &b"data: {\"id\":\"half"[..]);
        assert_eq!(out[1], Err(StreamFault::Broken));
    }

    #[test]
    fn a_stored_stream_loses_only_its_usage_events() {
        let with_usage = Bytes::from([CONTENT, FINISH, USAGE, DONE].concat());
        assert_eq!(
            without_usage_events(&with_usage),
            [CONTENT, FINISH, DONE].concat().as_bytes()
        );
        let plain = Bytes::from([CONTENT, DONE].concat());
        assert_eq!(without_usage_events(&plain), plain);
    }

    #[tokio::test]
    async fn plain_chunks_pass_untouched() {
        let (text, frames) = filtered(vec![CONTENT, CONTENT, DONE]).await;
        assert_eq!(text, [CONTENT, CONTENT, DONE].concat());
        assert_eq!(frames, 3);
    }
}
