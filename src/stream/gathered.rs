//! A body gathered whole for a translation that needs all of it: a JSON
//! answer or an error body in another API's shape (one JSON object cannot
//! be rewritten piece by piece). Streams are never gathered: their
//! translation goes event by event ([`super::transcode`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::Stream;

use super::{Chunk, StreamFault};

/// `inner` gathered up to `max_bytes`, then given as one chunk of what
/// `translate` makes of it. A failure of `inner`, or a body past the bound,
/// ends it with a fault instead.
pub struct Gathered<S, F> {
    inner: S,
    body: Vec<u8>,
    max_bytes: usize,
    translate: Option<F>,
}

impl<S, F> Gathered<S, F> {
    pub fn new(inner: S, max_bytes: usize, translate: F) -> Self {
        Self {
            inner,
            body: Vec::new(),
            max_bytes,
            translate: Some(translate),
        }
    }
}

impl<S, F> Stream for Gathered<S, F>
where
    S: Stream<Item = Chunk> + Unpin,
    F: FnOnce(Bytes) -> Bytes + Unpin,
{
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        loop {
            if this.translate.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if this.body.len() + chunk.len() > this.max_bytes {
                        this.translate = None;
                        return Poll::Ready(Some(Err(StreamFault::Broken)));
                    }
                    this.body.extend_from_slice(&chunk);
                }
                Poll::Ready(Some(Err(fault))) => {
                    this.translate = None;
                    return Poll::Ready(Some(Err(fault)));
                }
                Poll::Ready(None) => {
                    let body = Bytes::from(std::mem::take(&mut this.body));
                    let translated = this.translate.take().map(|translate| translate(body));
                    return Poll::Ready(translated.map(Ok));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Chunk> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p.as_bytes())))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn the_whole_body_is_translated_once() {
        let out: Vec<Chunk> = Gathered::new(chunks(&["ab", "cd"]), 10, |b: Bytes| {
            Bytes::from(b.to_ascii_uppercase())
        })
        .collect()
        .await;
        assert_eq!(out, [Ok(Bytes::from_static(b"ABCD"))]);
    }

    #[tokio::test]
    async fn a_body_past_the_bound_is_a_fault() {
        let out: Vec<Chunk> = Gathered::new(chunks(&["abc", "def"]), 4, |b: Bytes| b)
            .collect()
            .await;
        assert_eq!(out, [Err(StreamFault::Broken)]);
    }
}
