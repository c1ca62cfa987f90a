//! Calling upstream: the providers and their adapters, retries, key
//! rotation, the concurrency gate, timeouts and fallbacks, up to the moment
//! an answer is committed to.
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
//!
//! - [`providers`]: the upstreams, their keys and gates, model routing.
//! - [`adapters`]: each provider API's request (and answer) form.
//! - [`attempt`] one request, [`retrying`] the attempts on one model.
//! - [`head`], [`body`]: the committed answer as it arrives.
//! - [`redact`]: keys an upstream echoes, masked.

pub mod adapters;
mod attempt;
mod body;
mod head;
pub mod providers;
pub mod redact;
pub mod retry;
mod retrying;
mod send;

use std::sync::Arc;

use tokio::time::Instant;

pub use adapters::{Outbound, Prepared};
pub use body::UpstreamBody;
pub use head::AnswerHead;
pub use providers::{Forwarded, Provider, Registry, Route};
pub use send::error_chain;

use crate::error::AppError;
use crate::limits::TokenReservation;
use crate::metrics::Metrics;
use redact::Redactor;
use retrying::TargetOutcome;

/// One model to try: where, and the request to send there.
#[derive(Debug, Clone)]
pub struct Target {
    pub route: Route,
    pub request: Prepared,
}

/// Everything needed to call upstream, owned so the call can run in a task
/// that outlives the request.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// The model asked for, then its fallbacks.
    pub targets: Vec<Target>,
    pub forwarded: Forwarded,
    /// When the request arrived; total timeouts count from here.
    pub started: Instant,
    /// Where failures, retries and fallbacks are counted.
    pub metrics: Arc<Metrics>,
    /// Masks provider keys (and the client's own) in every answer.
    pub redactor: Redactor,
}

/// A committed answer.
#[derive(Debug)]
pub struct Answer {
    /// The model that answered.
    pub route: Route,
    pub head: AnswerHead,
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
            let wire = self.head.wire;
            let probe = self.head.kind.map(|kind| wire.probe(kind, false));
            self.body.settle_with(probe, tokens);
        } else {
            tokens.settle(0);
        }
    }
}

/// Tries each target in turn until one commits to an answer; the last
/// failure otherwise (its response relayed, or a 502/503/504).
pub async fn call(plan: &CallPlan) -> Result<Answer, AppError> {
    let mut outcome = Err(AppError::UpstreamUnreachable {
        provider: String::new(),
    });
    for (index, target) in plan.targets.iter().enumerate() {
        if index > 0 {
            tracing::warn!(model = %target.route.label(), "falling back");
            let from = plan.targets[index - 1].route.label();
            plan.metrics.fallback(&from, &target.route.label());
        }
        match retrying::try_target(plan, target).await {
            TargetOutcome::Answer(answer) => return Ok(answer),
            TargetOutcome::Failed(error) => outcome = Err(error),
            TargetOutcome::FailedWith(answer) => outcome = Ok(answer),
        }
    }
    outcome
}
