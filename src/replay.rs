//! Serving a cache hit, in the form the request asked for: SSE for a
//! streamed request, JSON otherwise, whichever form the entry was stored in
//! (see [`crate::cache::convert`]). A stream stored from a stream is replayed
//! byte for byte, at once or, with `x-cache-replay: paced`, at the pace it
//! originally arrived.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;

use crate::cache::convert::{chunks_to_completion, completion_to_chunks};
use crate::cache::entry::now_ms;
use crate::cache::{BodyKind, CacheEntry, ChunkTiming};
use crate::observe::PROVIDER;
use crate::proxy::mark_event_stream;
use crate::upstream::{ANSWERING_MODEL, StreamFault};
use crate::usage::stream::{UsageFilter, without_usage_events};

/// How the client wants the hit.
#[derive(Debug, Clone, Copy)]
pub struct ReplayForm {
    /// `"stream": true`.
    pub stream: bool,
    /// `stream_options.include_usage`: send the usage-only chunk.
    pub include_usage: bool,
    /// `x-cache-replay: paced`.
    pub paced: bool,
}

/// The response for a hit. A stored stream's usage-only chunk goes only to
/// clients that asked for usage; a paced replay without it keeps every other
/// chunk's timing (the usage chunk's own moment is skipped).
pub fn replay(entry: CacheEntry, form: ReplayForm) -> Response {
    let meta = &entry.meta;
    let mut headers = HeaderMap::with_capacity(8);
    if let Ok(provider) = HeaderValue::from_str(&meta.provider) {
        headers.insert(PROVIDER, provider);
    }
    let answered_by = format!("{}/{}", meta.provider, meta.upstream_model);
    if let Ok(model) = HeaderValue::from_str(&answered_by) {
        headers.insert(ANSWERING_MODEL, model);
    }
    headers.insert(header::AGE, HeaderValue::from(meta.age_secs(now_ms())));
    let body = match (meta.kind, form.stream) {
        (BodyKind::Sse, true) => {
            mark_event_stream(&mut headers);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            let paced = form.paced && fits(&meta.chunks, entry.body.len());
            match (paced, form.include_usage) {
                (true, true) => Body::from_stream(paced_chunks(&entry.body, &meta.chunks)),
                (true, false) => {
                    Body::from_stream(UsageFilter::new(paced_chunks(&entry.body, &meta.chunks)))
                }
                (false, true) => Body::from(entry.body.clone()),
                (false, false) => Body::from(without_usage_events(&entry.body)),
            }
        }
        (BodyKind::Json, false) => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Body::from(entry.body.clone())
        }
        (BodyKind::Json, true) => {
            mark_event_stream(&mut headers);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            let completion = serde_json::from_slice(&entry.body).unwrap_or_default();
            Body::from(completion_to_chunks(&completion, form.include_usage))
        }
        (BodyKind::Sse, false) => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Body::from(chunks_to_completion(&entry.body).to_string())
        }
    };
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
fn paced_chunks(
    body: &Bytes,
    chunks: &[ChunkTiming],
) -> futures::stream::BoxStream<'static, Result<Bytes, StreamFault>> {
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
