//! Sending one upstream request, and what a failure to get any response
//! becomes: 502 (unreachable) or 504 (timeout). The one place an upstream
//! failure's details are logged; clients get a short message without them.

use super::providers::Provider;
use crate::error::AppError;

/// Sends the request; a failure before any response arrives becomes a 502
/// (unreachable) or 504 (timeout).
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    provider: &Provider,
) -> Result<reqwest::Response, AppError> {
    request.send().await.map_err(|error| {
        // The one place an upstream failure's details are logged; clients get
        // a short message without them. The URL is left out of the message
        // because it may carry credentials; the public base URL replaces it.
        let name = provider.name().to_string();
        let error = error.without_url();
        tracing::warn!(
            provider = %name,
            base_url = %provider.public_base_url(),
            error = %error_chain(&error),
            "upstream request failed"
        );
        if error.is_timeout() {
            AppError::UpstreamTimeout { provider: name }
        } else {
            AppError::UpstreamUnreachable { provider: name }
        }
    })
}

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
