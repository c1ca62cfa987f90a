//! The checks before anything else looks at a request: a head larger than
//! `[server] max_header_bytes` gets an OpenAI-shaped 431; a `Host` the
//! gateway does not answer to, 403 ([`host`]); a web page whose origin may
//! not call, 403 ([`origin`], which also answers CORS for the allowed
//! ones).
//!
//! hyper reads heads up to twice the limit (see [`crate::wiring::server`]),
//! so that a head over the limit reaches this check and gets an answer in
//! the OpenAI shape rather than hyper's bare 431.

pub mod host;
pub mod origin;

use axum::extract::Request;

pub use host::HostPolicy;
pub use origin::{OriginPolicy, cors_layer};

use crate::error::AppError;

/// The guards of the current configuration.
#[derive(Debug, Clone)]
pub struct Guards {
    pub origins: OriginPolicy,
    pub hosts: HostPolicy,
}

impl Guards {
    /// The guards for a configuration: open mode or not (`keys_required`),
    /// `cors_origins` and `[server] allowed_hosts`.
    pub fn new(keys_required: bool, cors_origins: &[String], allowed_hosts: &[String]) -> Self {
        Self {
            origins: OriginPolicy::new(keys_required, cors_origins),
            hosts: HostPolicy::new(keys_required, allowed_hosts),
        }
    }

    /// Refuses a request with a head over `max_header_bytes`, for another
    /// host, or from a web page that may not call.
    pub fn check(&self, request: &Request, max_header_bytes: usize) -> Result<(), AppError> {
        if head_too_large(request, max_header_bytes) {
            return Err(AppError::HeadersTooLarge {
                limit: max_header_bytes,
            });
        }
        self.hosts.check(request.headers(), request.uri())?;
        self.origins.check(request.headers())
    }
}

/// Whether a request's head, as it was on the wire, is larger than `limit`
/// bytes: the request line, each header line and the blank line that ends
/// the head (what hyper would have counted against its buffer).
pub fn head_too_large<B>(request: &axum::http::Request<B>, limit: usize) -> bool {
    let line = request.method().as_str().len() + request.uri().to_string().len() + 11;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    line + headers + 2 > limit
}
