//! Calling upstream: retries, key rotation, the concurrency gate, timeouts
//! and fallbacks, up to the moment an answer is committed to.
//!
//! An answer is committed to once its status is known and — for a success —
//! its first body chunk has arrived. Until then nothing has reached the
//! client, so a failure can still be retried or handed to the next model of
//! the plan; after that, never (a client must not receive two answers
//! glued together). What is retried and how long is waited:
//! [`retry`] and the provider's [`crate::config::RetryPolicy`].
//!
//! The outcome of the last attempt goes to the client: an upstream error
//! response is relayed as it is (with its `Retry-After`), a failure to get
//! any response becomes a 502/503/504 [`AppError`].

mod body;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue};
use futures::StreamExt;
use tokio::time::Instant;

pub use body::{Limits, StreamFault, UpstreamBody};

use crate::error::AppError;
use crate::limits::TokenReservation;
use crate::metrics::Metrics;
use crate::providers::{Forwarded, Route, Slot, UpstreamRequest};
use crate::proxy::{self, Head};
use retry::Verdict;

/// `provider/model` of the model that answered.
pub const ANSWERING_MODEL: HeaderName = HeaderName::from_static("x-llm-bridge-model");

/// One model to try: where, and the body to send there.
#[derive(Debug, Clone)]
pub struct Target {
    pub route: Route,
    pub body: Bytes,
}

/// Everything needed to call upstream, owned so the call can run in a task
/// that outlives the request.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The model asked for, then its fallbacks.
    pub targets: Vec<Target>,
    pub forwarded: Forwarded,
    /// When the request arrived; total timeouts count from here.
    pub started: Instant,
    /// Where failures, retries and fallbacks are counted.
    pub metrics: Arc<Metrics>,
    /// Masks provider keys (and the client's own) in every answer.
    pub redactor: crate::redact::Redactor,
}

/// A committed answer.
#[derive(Debug)]
pub struct Answer {
    /// The model that answered.
    pub route: Route,
    pub head: Head,
    pub body: UpstreamBody,
}

impl Answer {
    /// Settles a token reservation with the usage this answer reports; an
    /// error answer used no tokens.
    pub fn settle_tokens(&mut self, tokens: Option<TokenReservation>) {
        let Some(tokens) = tokens else {
            return;
        };
        if self.head.status.is_success() {
            self.body.settle_with(self.head.kind, tokens);
        } else {
            tokens.settle(0);
        }
    }
}

/// How one model's attempts ended.
enum Tried {
    /// Commit to this answer.
    Answer(Answer),
    /// This model failed; try the next, or give the client this error.
    Failed(AppError),
    /// This model failed with a response; try the next, or relay it.
    FailedWith(Answer),
}

/// Tries each target in turn until one answers. See the module docs.
pub async fn call(plan: &Plan) -> Result<Answer, AppError> {
    let mut outcome = Err(AppError::UpstreamUnreachable {
        provider: String::new(),
    });
    for (index, target) in plan.targets.iter().enumerate() {
        if index > 0 {
            tracing::warn!(
                model = %target.route.label(),
                "falling back"
            );
            let from = plan.targets[index - 1].route.label();
            plan.metrics.fallback(&from, &target.route.label());
        }
        match try_target(plan, target).await {
            Tried::Answer(answer) => return Ok(answer),
            Tried::Failed(error) => outcome = Err(error),
            Tried::FailedWith(answer) => outcome = Ok(answer),
        }
    }
    outcome
}

/// Attempts on one target, with retries.
async fn try_target(plan: &Plan, target: &Target) -> Tried {
    let provider = &target.route.provider;
    let policy = provider.retry_policy();
    let timeouts = provider.timeouts();
    let deadline = plan.started + timeouts.total;
    let first_attempt = Instant::now();
    let mut retries = 0u32;
    let mut key_switches = 0usize;
    loop {
        let attempt = attempt(plan, target, deadline).await;
        count_failure(plan, provider.name(), &attempt);
        let (wait, failure) = match attempt {
            Attempt::Answer(answer) => return Tried::Answer(answer),
            Attempt::Refused(error) => (retry::backoff(&policy, retries), Tried::Failed(error)),
            Attempt::Busy(error) | Attempt::NotFound(error) => return Tried::Failed(error),
            Attempt::Status(answer, key) => {
                let status = answer.head.status;
                match retry::verdict(status) {
                    Verdict::Answer => return Tried::Answer(answer),
                    Verdict::FallBack => return Tried::FailedWith(answer),
                    Verdict::KeyRefused => {
                        // Another key is worth trying at once; the same key
                        // again is not.
                        let switched = key.is_some_and(|k| provider.key_failed(k));
                        if switched && key_switches < MAX_KEY_SWITCHES {
                            key_switches += 1;
                            continue;
                        }
                        return Tried::FailedWith(answer);
                    }
                    Verdict::Retry => {
                        let switched = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                            && key.is_some_and(|k| provider.key_failed(k));
                        match retry::retry_after(&answer.head.headers) {
                            Some(asked) if asked > policy.max_retry_after => {
                                tracing::warn!(
                                    provider = provider.name(),
                                    retry_after_secs = asked.as_secs(),
                                    "upstream asks for a longer wait than retry.max_retry_after_secs; not retrying"
                                );
                                return Tried::FailedWith(answer);
                            }
                            // A throttled key is swapped for a fresh one at once.
                            _ if switched => (Duration::ZERO, Tried::FailedWith(answer)),
                            Some(asked) => (asked, Tried::FailedWith(answer)),
                            None => (retry::backoff(&policy, retries), Tried::FailedWith(answer)),
                        }
                    }
                }
            }
        };
        let retry_at = Instant::now() + wait;
        let out_of_time =
            retry_at.duration_since(first_attempt) > policy.max_retry_time || retry_at >= deadline;
        if retries >= policy.max_retries || out_of_time {
            return failure;
        }
        // The failed answer's connection is let go before waiting.
        drop(failure);
        retries += 1;
        plan.metrics.retry(provider.name());
        tracing::info!(
            provider = provider.name(),
            retry = retries,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying upstream call"
        );
        tokio::time::sleep_until(retry_at).await;
    }
}

/// Counts a failed attempt under a fixed, low-cardinality kind.
fn count_failure(plan: &Plan, provider: &str, attempt: &Attempt) {
    let kind = match attempt {
        Attempt::Answer(_) => return,
        Attempt::Refused(AppError::UpstreamTimeout { .. }) => "timeout",
        Attempt::Refused(_) => "unreachable",
        Attempt::Busy(_) => "queue_full",
        Attempt::NotFound(_) => "status_4xx",
        Attempt::Status(answer, _) => match answer.head.status.as_u16() {
            429 => "status_429",
            500..=599 => "status_5xx",
            _ => "status_4xx",
        },
    };
    plan.metrics.upstream_error(provider, kind);
}

/// A 404 from the chat path. With an API error body (OpenAI's "model does
/// not exist") it is relayed like any error; without one (a web server's
/// "404 page not found") the URL itself was not found, almost always a
/// base URL without its version path, and the client gets a message that
/// says so instead of the server's page. The log says it either way.
fn not_found(
    provider: &dyn crate::providers::Provider,
    answer: Answer,
    key: Option<usize>,
) -> Attempt {
    let base_url = provider.public_base_url();
    let hint = if base_url.ends_with("/v1") {
        format!("check its base URL ({base_url})")
    } else {
        format!(
            "check its base URL ({base_url}): OpenAI-compatible servers usually want it to end \
             in /v1, e.g. {base_url}/v1"
        )
    };
    tracing::warn!(
        provider = provider.name(),
        "upstream answered 404 Not Found to the chat path: {hint}"
    );
    if answer.head.kind == Some(crate::cache::BodyKind::Json) {
        return Attempt::Status(answer, key);
    }
    Attempt::NotFound(AppError::UpstreamNotFound(format!(
        "provider `{}` answered 404 Not Found for POST {base_url}/chat/completions; {hint} \
         (NAME_BASE_URL or [providers.NAME] base_url)",
        provider.name()
    )))
}

/// Key switches after a 401, on top of the retries: enough to go round a
/// provider's keys without looping forever.
const MAX_KEY_SWITCHES: usize = 8;

/// How one attempt ended.
enum Attempt {
    /// A success with its first chunk: commit.
    Answer(Answer),
    /// A non-success response, and the key it was sent with.
    Status(Answer, Option<usize>),
    /// No response (connect error, timeout, body broke before its first
    /// byte).
    Refused(AppError),
    /// The provider's queue is full.
    Busy(AppError),
    /// 404 without an API error body: the provider's URL looks wrong.
    NotFound(AppError),
}

async fn attempt(plan: &Plan, target: &Target, deadline: Instant) -> Attempt {
    let route = &target.route;
    let provider = route.provider.as_ref();
    let name = || provider.name().to_string();
    let timeouts = provider.timeouts();
    let slot: Option<Slot> = match provider.gate() {
        None => None,
        Some(gate) => match tokio::time::timeout_at(deadline, gate.enter()).await {
            Ok(Ok(slot)) => Some(slot),
            Ok(Err(_)) => {
                tracing::warn!(provider = provider.name(), "provider queue full");
                return Attempt::Busy(AppError::ProviderBusy { provider: name() });
            }
            Err(_) => return Attempt::Refused(AppError::UpstreamTimeout { provider: name() }),
        },
    };
    let UpstreamRequest { request, key } =
        provider.chat_request(target.body.clone(), &plan.forwarded);
    let first_byte_by = (Instant::now() + timeouts.first_byte).min(deadline);
    let exchange = async {
        let response = proxy::send(request, provider).await?;
        let mut head = Head::of(&response, provider.name());
        plan.redactor.headers(&mut head.headers);
        if let Ok(value) = HeaderValue::from_str(&route.label()) {
            head.headers.insert(ANSWERING_MODEL, value);
        }
        let success = head.status.is_success();
        let mut rest = response.bytes_stream().boxed();
        // Only a success waits for its first chunk: an error answer is
        // judged by its status.
        let first = match success {
            true => match rest.next().await {
                Some(Ok(chunk)) => Some(chunk),
                Some(Err(error)) => {
                    let error = error.without_url();
                    tracing::warn!(
                        provider = provider.name(),
                        error = %proxy::error_chain(&error),
                        "upstream body broke off before its first byte"
                    );
                    return Err(AppError::UpstreamBrokeOff { provider: name() });
                }
                None => None,
            },
            false => None,
        };
        Ok((head, first, rest))
    };
    match tokio::time::timeout_at(first_byte_by, exchange).await {
        Err(_) => {
            tracing::warn!(
                provider = provider.name(),
                "no answer before the first-byte timeout"
            );
            Attempt::Refused(AppError::UpstreamTimeout { provider: name() })
        }
        Ok(Err(error)) => Attempt::Refused(error),
        Ok(Ok((head, first, rest))) => {
            let success = head.status.is_success();
            let limits = Limits {
                idle: timeouts.idle,
                deadline,
                total: timeouts.total,
            };
            let answer = Answer {
                route: route.clone(),
                head,
                body: UpstreamBody::new(first, rest, limits, slot, plan.redactor.stream()),
            };
            if success {
                Attempt::Answer(answer)
            } else if answer.head.status == reqwest::StatusCode::NOT_FOUND {
                not_found(provider, answer, key)
            } else {
                tracing::warn!(
                    provider = provider.name(),
                    status = answer.head.status.as_u16(),
                    "upstream answered with an error"
                );
                Attempt::Status(answer, key)
            }
        }
    }
}
