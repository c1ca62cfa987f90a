//! Per-access-key rate limits applied to a chat request.
//!
//! Every chat request counts against its key's requests per minute, cache
//! hits included. Tokens per minute are reserved only when a request goes
//! upstream (a hit, or a request that shares another's upstream call, costs
//! no tokens): the prompt is estimated with the tokenizer, reserved, and
//! settled with the usage the upstream reports when the answer ends.
//! Callers are known by their access key's id; without access keys, by a
//! fingerprint of the client's own provider key, else as `anonymous`.

use crate::app::Live;
use crate::auth::Caller;
use crate::chat_body::ChatBody;
use crate::error::AppError;
use crate::limits::{RateLimited, TokenReservation};

/// Bodies above this are tokenized off the async threads: a few hundred
/// KB of prompt takes tens of milliseconds to count.
const INLINE_ESTIMATE_BYTES: usize = 64 * 1024;

fn caller_id(caller: &Caller) -> &str {
    caller.key_id.as_deref().unwrap_or("anonymous")
}

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
pub fn count_request(live: &Live, caller: &Caller) -> Result<(), AppError> {
    if live.limits.is_empty() {
        return Ok(());
    }
    live.limits
        .check_request(caller_id(caller))
        .map_err(|refused| {
            tracing::info!(key = caller_id(caller), "over requests per minute");
            AppError::from(refused)
        })
}

/// Reserves the prompt's estimated tokens when the key has a token limit;
/// 429 when it is over it.
pub async fn reserve_tokens(
    live: &Live,
    caller: &Caller,
    chat: &ChatBody,
) -> Result<Option<TokenReservation>, AppError> {
    let id = caller_id(caller);
    let limits = &live.config.limits;
    let has_token_limit = limits
        .per_key
        .get(id)
        .unwrap_or(&limits.default)
        .tokens_per_minute
        .is_some();
    if !has_token_limit {
        return Ok(None);
    }
    let estimate = estimate_prompt(chat).await;
    live.limits
        .reserve_tokens(id, estimate)
        .map(Some)
        .map_err(|refused| {
            tracing::info!(key = id, estimate, "over tokens per minute");
            AppError::from(refused)
        })
}

async fn estimate_prompt(chat: &ChatBody) -> u64 {
    let model = chat.model().to_string();
    let raw = chat.raw().clone();
    let count = move || {
        serde_json::from_slice::<serde_json::Value>(&raw)
            .map(|body| crate::tokens::estimate_prompt_tokens(&model, &body))
            .unwrap_or(0)
    };
    if chat.raw().len() <= INLINE_ESTIMATE_BYTES {
        return count();
    }
    tokio::task::spawn_blocking(count).await.unwrap_or(0)
}
