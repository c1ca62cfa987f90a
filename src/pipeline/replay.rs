//! Serving a cache hit, in the form the request asked for: SSE for a
//! streamed request, JSON otherwise, whichever form the entry was stored in
//! (the request's dialect renders it). A stored stream is replayed at once
//! or, with `x-cache-replay: paced`, at the pace it originally arrived.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::exchange::{Answered, Dialect, ReplyForm};
use crate::cache::entry::now_ms;
use crate::cache::{CacheEntry, ChunkTiming};
use crate::headers::{ANSWERING_MODEL, PROVIDER};
use crate::stream::Chunk;
use crate::stream::relay::mark_event_stream;
use crate::wire::BodyKind;

/// The response for a hit on `entry`, decoded by the wire it was stored in.
pub fn replay(entry: &CacheEntry, dialect: &dyn Dialect, form: ReplyForm) -> Response {
    let meta = &entry.meta;
    let answered = Answered {
        wire: meta.wire,
        model: &meta.upstream_model,
    };
    let mut headers = HeaderMap::with_capacity(8);
    if let Ok(provider) = HeaderValue::from_str(&meta.provider) {
        headers.insert(PROVIDER, provider);
    }
    let answered_by = format!("{}/{}", meta.provider, meta.upstream_model);
    if let Ok(model) = HeaderValue::from_str(&answered_by) {
        headers.insert(ANSWERING_MODEL, model);
    }
    headers.insert(header::AGE, HeaderValue::from(meta.age_secs(now_ms())));
    let paced = form.paced
        && form.stream
        && meta.kind == BodyKind::Sse
        && fits(&meta.chunks, entry.body.len());
    let (kind, body) = if paced {
        let chunks = paced_chunks(&entry.body, &meta.chunks);
        let chunks = dialect.stream(answered, chunks, form);
        (BodyKind::Sse, Body::from_stream(chunks))
    } else {
        let (kind, bytes) = dialect.whole(answered, meta.kind, &entry.body, form);
        (kind, Body::from(bytes))
    };
    let content_type = match kind {
        BodyKind::Sse => {
            mark_event_stream(&mut headers);
            "text/event-stream"
        }
        BodyKind::Json => "application/json",
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(meta.status).unwrap_or(StatusCode::OK);
    *response.headers_mut() = headers;
    response
}

/// Whether the recorded chunks cover the body exactly.
fn fits(chunks: &[ChunkTiming], len: usize) -> bool {
    !chunks.is_empty() && chunks.iter().map(|c| c.len).sum::<u64>() == len as u64
}

/// The body cut at the recorded chunk boundaries, each chunk sent at its
/// recorded offset from the start.
fn paced_chunks(body: &Bytes, chunks: &[ChunkTiming]) -> BoxStream<'static, Chunk> {
    let start = tokio::time::Instant::now();
    let mut position = 0usize;
    let pieces: Vec<(Duration, Bytes)> = chunks
        .iter()
        .map(|chunk| {
            let end = position + usize::try_from(chunk.len).unwrap_or(0);
            let piece = body.slice(position..end);
            position = end;
            (Duration::from_millis(chunk.offset_ms), piece)
        })
        .collect();
    futures::stream::iter(pieces)
        .then(move |(offset, piece)| async move {
            tokio::time::sleep_until(start + offset).await;
            Ok(piece)
        })
        .boxed()
}
