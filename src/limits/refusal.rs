//! What a refused call is told: which limit, its number, and when to come
//! back. Plain data; the request path renders it as a 429.

use std::time::Duration;

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
}

impl LimitKind {
    /// The `type` OpenAI gives its rate-limit errors: `requests` or `tokens`.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Requests => "requests",
            LimitKind::Tokens => "tokens",
        }
    }

    fn label(self) -> &'static str {
        match self {
            LimitKind::Requests => "requests per minute (RPM)",
            LimitKind::Tokens => "tokens per minute (TPM)",
        }
    }
}

/// A refusal: which limit, its number per minute, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Rate limit reached on {}: Limit {limit}. Please try again in {}s.",
    kind.label(),
    self.retry_after_secs()
)]
pub struct RateLimited {
    /// The limit that refused.
    pub kind: LimitKind,
    /// How long until the same call would pass (if nothing else is spent).
    pub retry_after: Duration,
    /// The limit's number per minute.
    pub limit: u64,
}

impl RateLimited {
    /// `retry_after` in whole seconds for the `Retry-After` header: rounded
    /// up, and at least 1 so a client never retries in a tight loop.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let secs = if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        secs.max(1)
    }
}
