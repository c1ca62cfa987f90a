//! Adapters on the chunks of a client's answer, before they are relayed.
//!
//! [`UsageTap`] runs a [`UsageProbe`] over the chunks and, when the answer
//! ends, writes what it found into the request's [`LogSlot`] for the usage
//! record. [`UsageFilter`] drops usage-only chunks (empty `choices`, a
//! `usage`) for a client that did not ask for them: the gateway asks
//! providers for usage on every stream, and the client must still receive
//! exactly what it asked for. Both pass chunks on as they come; the filter
//! holds back only the start of an event that could still turn out to be a
//! usage-only chunk (one that has not shown `"choices":[{` yet), until it
//! does or ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::UsageProbe;
use crate::cache::BodyKind;
use crate::cache::convert::is_usage_only;
use crate::request_log::LogSlot;
use crate::upstream::StreamFault;

type Chunk = Result<Bytes, StreamFault>;

/// See the module docs.
pub struct UsageTap<S> {
    inner: S,
    probe: Option<UsageProbe>,
    slot: LogSlot,
}

impl<S> UsageTap<S> {
    pub fn new(inner: S, probe: UsageProbe, slot: LogSlot) -> Self {
        Self {
            inner,
            probe: Some(probe),
            slot,
        }
    }
}

impl<S: Stream<Item = Chunk> + Unpin> Stream for UsageTap<S> {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(probe) = &mut this.probe {
                    probe.observe(chunk);
                }
            }
            // Only a whole answer has usage worth reporting.
            Poll::Ready(Some(Err(_))) => this.probe = None,
            Poll::Ready(None) => {
                if let Some(probe) = this.probe.take() {
                    let found = probe.finish();
                    this.slot.update(|entry| {
                        entry.metering.usage = found.usage;
                        entry.metering.answer_text = found.text;
                    });
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for UsageTap<S> {
    /// An answer dropped before its end (the client left, or the shutdown
    /// cut it) leaves a rough count of what it had streamed.
    fn drop(&mut self) {
        if let Some(events) = self.probe.as_ref().and_then(UsageProbe::events_so_far) {
            self.slot
                .update(|entry| entry.metering.events_before_end = Some(events));
        }
    }
}

/// See the module docs.
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
            && event_ends(chunk)
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

fn event_ends(chunk: &[u8]) -> bool {
    chunk.ends_with(b"\n\n") || chunk.ends_with(b"\r\n\r\n")
}

/// The length of the first complete event (its blank line included).
fn event_end(text: &[u8]) -> Option<usize> {
    let lf = text.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = text
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn is_usage_only_event(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else {
        return false;
    };
    let data: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .collect();
    !data.is_empty() && is_usage_only(&data)
}

#[cfg(test)]
mod tests {
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

/// What a client's answer gets on its way out.
#[derive(Debug, Clone)]
pub struct ClientTap {
    /// The request's log slot, where the usage found is written.
    pub slot: LogSlot,
    /// Drop usage-only chunks: the client streams without asking for usage.
    pub drop_usage_chunks: bool,
    /// Gather the answer's text for an estimate: no usage is expected.
    pub gather_text: bool,
}

impl ClientTap {
    /// `chunks` with the probe and, where wanted, the filter around them.
    pub fn wrap<S>(&self, kind: Option<BodyKind>, chunks: S) -> BoxStream<'static, Chunk>
    where
        S: Stream<Item = Chunk> + Send + Unpin + 'static,
    {
        let Some(kind) = kind else {
            return chunks.boxed();
        };
        let probe = UsageProbe::new(kind, self.gather_text);
        let tapped = UsageTap::new(chunks, probe, self.slot.clone());
        if kind == BodyKind::Sse && self.drop_usage_chunks {
            UsageFilter::new(tapped).boxed()
        } else {
            tapped.boxed()
        }
    }
}
