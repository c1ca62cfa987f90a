//! Per-access-key rate limits applied to a request on its way.
//!
//! Every request counts against its key's requests per minute, cache hits
//! included. Tokens per minute are reserved only when a request goes
//! upstream (a hit, or a request that shares another's upstream call, costs
//! no tokens): the prompt is estimated with its dialect's rule, reserved,
//! and settled with the usage the upstream reports when the answer ends.
//! Callers are known by their access key's id; without access keys, by a
//! fingerprint of the client's own provider key, else as `anonymous`.
//! With Redis configured, requests per minute are counted there, for every
//! instance together ([`crate::limits::shared`]), and so are tokens per
//! minute.

use std::sync::Arc;

use super::Routing;
use crate::caller::Caller;
use crate::error::AppError;
use crate::limits::{RateLimited, TokenReservation};
use crate::notes::Prompt;

/// Bodies above this are tokenized off the async threads: a few hundred
/// KB of prompt takes tens of milliseconds to count.
const INLINE_ESTIMATE_BYTES: usize = 64 * 1024;

impl From<RateLimited> for AppError {
    fn from(refused: RateLimited) -> Self {
        AppError::RateLimited {
            what: refused.kind.as_str(),
            limit: refused.limit,
            retry_after: refused.retry_after,
        }
    }
}

/// Counts the request; 429 when the key is over its requests per minute.
/// With Redis, across every instance; when Redis cannot say, by this
/// instance's own limiter.
pub async fn count_request(routing: &Routing, caller: &Caller) -> Result<(), AppError> {
    if routing.limits.is_empty() {
        return Ok(());
    }
    let id = caller.limit_id();
    if let (Some(shared), Some(rpm)) = (&routing.shared_rpm, routing.limits.rpm_of(id)) {
        let (shared, key) = (Arc::clone(shared), id.to_string());
        let answer = tokio::task::spawn_blocking(move || shared.check(&key, rpm.get()))
            .await
            .ok()
            .flatten();
        match answer {
            Some(Ok(())) => return Ok(()),
            Some(Err(retry_after)) => {
                tracing::info!(key = id, "over requests per minute (all instances)");
                return Err(AppError::RateLimited {
                    what: "requests",
                    limit: u64::from(rpm.get()),
                    retry_after,
                });
            }
            None => {}
        }
    }
    routing.limits.check_request(id).map_err(|refused| {
        tracing::info!(key = id, "over requests per minute");
        AppError::from(refused)
    })
}

/// Reserves the prompt's estimated tokens when the key has a token limit;
/// 429 when it is over it.
pub async fn reserve_tokens(
    routing: &Routing,
    caller: &Caller,
    model: &str,
    prompt: Prompt,
) -> Result<Option<TokenReservation>, AppError> {
    let id = caller.limit_id();
    if !routing.token_limited(id) {
        return Ok(None);
    }
    let estimate = estimate_prompt(model, prompt).await;
    if let (Some(shared), Some(tpm)) = (&routing.shared_rpm, routing.limits.tpm_of(id)) {
        let (limiter, key) = (Arc::clone(shared), id.to_string());
        let answer =
            tokio::task::spawn_blocking(move || limiter.reserve_tokens(&key, tpm.get(), estimate))
                .await
                .ok()
                .flatten();
        match answer {
            Some(Ok(())) => {
                let reservation = TokenReservation::shared(
                    Arc::clone(shared),
                    id.to_string(),
                    tpm.get(),
                    estimate,
                );
                return Ok(Some(reservation));
            }
            Some(Err(retry_after)) => {
                tracing::info!(key = id, estimate, "over tokens per minute (all instances)");
                return Err(AppError::RateLimited {
                    what: "tokens",
                    limit: tpm.get(),
                    retry_after,
                });
            }
            None => {}
        }
    }
    routing
        .limits
        .reserve_tokens(id, estimate)
        .map(Some)
        .map_err(|refused| {
            tracing::info!(key = id, estimate, "over tokens per minute");
            AppError::from(refused)
        })
}

/// The prompt's tokens by its dialect's rule, counted off the async
/// threads when it is large.
pub(super) async fn estimate_prompt(model: &str, prompt: Prompt) -> u64 {
    let model = model.to_string();
    let large = prompt.body.len() > INLINE_ESTIMATE_BYTES;
    let count = move || (prompt.estimate)(&model, &prompt.body);
    if !large {
        return count();
    }
    tokio::task::spawn_blocking(count).await.unwrap_or(0)
}
