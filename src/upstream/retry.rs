//! The retry rules: which answers are worth another try, how long to wait,
//! and what an upstream's `Retry-After` asks for.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::config::RetryPolicy;

/// What to make of an upstream status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An answer: relay it.
    Answer,
    /// Throttled or broken upstream (429, 5xx): retry, then fall back.
    Retry,
    /// The key was refused (401): another key may work; otherwise fall
    /// back, since the request itself may be fine elsewhere.
    KeyRefused,
    /// This provider cannot serve the request (403, 404: no access to the
    /// model, or no such model there): no retry, but a fallback may.
    FallBack,
}

/// The verdict for `status`. Other 4xx are the request's own fault and go
/// to the client as they are: retrying or another provider would not help.
pub fn verdict(status: StatusCode) -> Verdict {
    match status.as_u16() {
        429 | 500..=599 => Verdict::Retry,
        401 => Verdict::KeyRefused,
        403 | 404 => Verdict::FallBack,
        _ => Verdict::Answer,
    }
}

/// The wait an upstream asks for: `retry-after-ms` (OpenAI's), else
/// `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The wait before retry number `retry` (0 for the first): the backoff
/// doubled per retry, capped, then "equal jitter" — a random point in its
/// upper half, so clients that failed together do not retry together.
pub fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let doubled = policy
        .backoff
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(policy.max_backoff);
    let half = doubled / 2;
    half + half.mul_f64(random_unit())
}

/// A number in [0, 1). Jitter needs no strong randomness; std's hasher keys
/// are random per process and differ per `RandomState`.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(StatusCode::OK), Verdict::Answer);
        assert_eq!(verdict(StatusCode::BAD_REQUEST), Verdict::Answer);
        assert_eq!(verdict(StatusCode::TOO_MANY_REQUESTS), Verdict::Retry);
        assert_eq!(verdict(StatusCode::BAD_GATEWAY), Verdict::Retry);
        assert_eq!(verdict(StatusCode::UNAUTHORIZED), Verdict::KeyRefused);
        assert_eq!(verdict(StatusCode::NOT_FOUND), Verdict::FallBack);
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a past date");
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let policy = RetryPolicy::default();
        for retry in 0..6 {
            let full = (policy.backoff * 2u32.pow(retry)).min(policy.max_backoff);
            let wait = backoff(&policy, retry);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?}");
        }
    }
}
