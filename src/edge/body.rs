//! The request body, whole, within its bounds: at most
//! `[server] max_body_bytes` (413), and within
//! `[server] body_read_timeout_secs` (408), so a client trickling a body
//! cannot hold a connection for long. A body over the limit is refused as
//! soon as the limit is passed, never held whole. Handlers behind this
//! layer find the body already in memory.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;

use crate::error::AppError;

/// The bounds of a request body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub read_timeout: Duration,
}

/// Route layer: reads the body within `limits`, or answers why not.
pub async fn read_whole(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match read(body, limits).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => error.into_response(),
    }
}

/// The whole body, or why not.
async fn read(body: Body, limits: BodyLimits) -> Result<Bytes, AppError> {
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
