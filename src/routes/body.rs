//! Reading a request body within its bounds: at most `max_body_bytes`
//! (413), whole within `[server] body_read_timeout_secs` (408), so a client
//! trickling a body cannot hold a connection for long. A body over the
//! limit is refused as soon as the limit is passed, never held whole.

use axum::body::{Body, Bytes};
use http_body_util::LengthLimitError;

use crate::config::Config;
use crate::error::AppError;

/// The whole body, or why not.
pub async fn read(body: Body, config: &Config) -> Result<Bytes, AppError> {
    let limit = config.max_body_bytes;
    let timeout = config.server.body_read_timeout;
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
