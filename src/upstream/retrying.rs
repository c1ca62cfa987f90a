//! The attempts on one model of a plan: retried after a failure, with
//! backoff or the upstream's `Retry-After`, a throttled or refused key
//! swapped for the next, until one commits, the retries run out, or the
//! failure is one no retry would change (see [`super::retry`]).

use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{Attempt, attempt};
use super::retry::{self, Verdict};
use super::{Answer, CallPlan, Target};
use crate::error::AppError;

/// Key switches after a 401, on top of the retries: enough to go round a
/// provider's keys without looping forever.
const MAX_KEY_SWITCHES: usize = 8;

/// How one model's attempts ended.
pub(super) enum TargetOutcome {
    /// Commit to this answer.
    Answer(Answer),
    /// This model failed; try the next, or give the client this error.
    Failed(AppError),
    /// This model failed with a response; try the next, or relay it.
    FailedWith(Answer),
}

/// What to do after one attempt.
enum Next {
    Done(TargetOutcome),
    /// Another key, at once, without counting a retry (else this answer).
    SwitchKey(Answer),
    /// Retry after `wait`, unless retries or time run out; then `failure`.
    Retry {
        wait: Duration,
        failure: TargetOutcome,
    },
}

/// Attempts on one target, with retries.
pub(super) async fn try_target(plan: &CallPlan, target: &Target) -> TargetOutcome {
    let provider = &target.route.provider;
    let policy = provider.retry_policy();
    let deadline = plan.started + provider.timeouts().total;
    let first_attempt = Instant::now();
    let (mut retries, mut key_switches) = (0u32, 0usize);
    loop {
        let attempt = attempt(plan, target, deadline).await;
        count_failure(plan, provider.name(), &attempt);
        let (wait, failure) = match judge(attempt, target, retries) {
            Next::Done(outcome) => return outcome,
            Next::SwitchKey(_) if key_switches < MAX_KEY_SWITCHES => {
                key_switches += 1;
                continue;
            }
            Next::SwitchKey(answer) => return TargetOutcome::FailedWith(answer),
            Next::Retry { wait, failure } => (wait, failure),
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

/// What one attempt's outcome calls for.
fn judge(attempt: Attempt, target: &Target, retries: u32) -> Next {
    let provider = &target.route.provider;
    let policy = provider.retry_policy();
    let (answer, key) = match attempt {
        Attempt::Answer(answer) => return Next::Done(TargetOutcome::Answer(answer)),
        Attempt::Refused(error) => {
            let wait = retry::backoff(&policy, retries);
            let failure = TargetOutcome::Failed(error);
            return Next::Retry { wait, failure };
        }
        Attempt::Busy(error) | Attempt::NotFound(error) => {
            return Next::Done(TargetOutcome::Failed(error));
        }
        Attempt::Status(answer, key) => (answer, key),
    };
    let status = answer.head.status;
    match retry::verdict(status) {
        Verdict::Answer => Next::Done(TargetOutcome::Answer(answer)),
        Verdict::FallBack => Next::Done(TargetOutcome::FailedWith(answer)),
        // Another key is worth trying at once; the same key again is not.
        Verdict::KeyRefused if key.is_some_and(|k| provider.key_failed(k)) => {
            Next::SwitchKey(answer)
        }
        Verdict::KeyRefused => Next::Done(TargetOutcome::FailedWith(answer)),
        Verdict::Retry => {
            let switched = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                && key.is_some_and(|k| provider.key_failed(k));
            let wait = match retry::retry_after(&answer.head.headers) {
                Some(asked) if asked > policy.max_retry_after => {
                    tracing::warn!(
                        provider = provider.name(),
                        retry_after_secs = asked.as_secs(),
                        "upstream asks for a longer wait than retry.max_retry_after_secs; not retrying"
                    );
                    return Next::Done(TargetOutcome::FailedWith(answer));
                }
                // A throttled key is swapped for a fresh one at once.
                _ if switched => Duration::ZERO,
                Some(asked) => asked,
                None => retry::backoff(&policy, retries),
            };
            let failure = TargetOutcome::FailedWith(answer);
            Next::Retry { wait, failure }
        }
    }
}

/// Counts a failed attempt under a fixed, low-cardinality kind.
fn count_failure(plan: &CallPlan, provider: &str, attempt: &Attempt) {
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
