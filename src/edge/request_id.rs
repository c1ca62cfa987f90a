//! The request id: the client's own `x-request-id` when it is short and
//! plain, so a request id can never smuggle anything into a header or a log
//! line; otherwise a new one.

use axum::extract::Request;
use axum::http::HeaderValue;

use crate::headers::{REQUEST_ID, SELF_PROVIDER};

/// Longest client request id echoed back.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id.
pub fn of(request: &Request) -> HeaderValue {
    let from_client = request.headers().get(REQUEST_ID).filter(|value| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    });
    match from_client {
        Some(value) => value.clone(),
        None => new_request_id(),
    }
}

/// Request ids the gateway makes: a random prefix drawn once per process and
/// a counter, unique without a random-number syscall per request.
fn new_request_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}{n:016x}")).unwrap_or(SELF_PROVIDER)
}
