//! Turning one wire's stream into another's as it passes: a [`Transcoder`]
//! takes the chunks of one event stream and gives the bytes of another, and
//! [`Transcoded`] runs one over a stream of chunks. Nothing is held back
//! but the unfinished end of an event, so a translated token leaves as soon
//! as its event is whole.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::Stream;

use super::Chunk;

/// One stream's translation into another wire, event by event.
pub trait Transcoder: Send {
    /// The bytes of the other stream that `chunk` completes (possibly
    /// none: an event not yet whole, or one that has no counterpart).
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;

    /// The input ended cleanly: the last bytes of the other stream (its
    /// closing events).
    fn finish(&mut self) -> Vec<u8>;
}

/// `inner` translated by a [`Transcoder`]. A failure of `inner` passes on
/// as it is, after what was translated before it.
pub struct Transcoded<S> {
    inner: S,
    transcoder: Box<dyn Transcoder>,
    done: bool,
}

impl<S> Transcoded<S> {
    pub fn new(inner: S, transcoder: Box<dyn Transcoder>) -> Self {
        Self {
            inner,
            transcoder,
            done: false,
        }
    }
}

impl<S: Stream<Item = Chunk> + Unpin> Stream for Transcoded<S> {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            return match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let out = this.transcoder.push(&chunk);
                    if out.is_empty() {
                        continue;
                    }
                    Poll::Ready(Some(Ok(Bytes::from(out))))
                }
                Poll::Ready(Some(Err(fault))) => {
                    this.done = true;
                    Poll::Ready(Some(Err(fault)))
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let out = this.transcoder.finish();
                    match out.is_empty() {
                        true => Poll::Ready(None),
                        false => Poll::Ready(Some(Ok(Bytes::from(out)))),
                    }
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// A whole stream translated at once (a stored answer).
pub fn whole(mut transcoder: Box<dyn Transcoder>, body: &[u8]) -> Bytes {
    let mut out = transcoder.push(body);
    out.extend(transcoder.finish());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    /// Upper-cases every whole line; what ends without a line end is
    /// dropped.
    struct Shout(Vec<u8>);

    impl Transcoder for Shout {
        fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
            self.0.extend_from_slice(chunk);
            let end = self
                .0
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line: Vec<u8> = self.0.drain(..end).collect();
            line.to_ascii_uppercase()
        }

        fn finish(&mut self) -> Vec<u8> {
            b"END\n".to_vec()
        }
    }

    #[tokio::test]
    async fn chunks_pass_as_soon_as_they_are_whole_and_the_end_is_added() {
        let chunks: Vec<Chunk> = ["ab", "c\nd", "e\n"]
            .into_iter()
            .map(|c| Ok(Bytes::from(c)))
            .collect();
        let out: Vec<Chunk> =
            Transcoded::new(futures::stream::iter(chunks), Box::new(Shout(Vec::new())))
                .collect()
                .await;
        let out: Vec<Bytes> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, ["ABC\n", "DE\n", "END\n"]);
        assert_eq!(whole(Box::new(Shout(Vec::new())), b"x\ny"), "X\nEND\n");
    }
}
