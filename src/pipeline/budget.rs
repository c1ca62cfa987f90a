//! Spend budgets applied to a request on its way (see [`crate::budgets`]):
//! after routing, before the cache, a request of a key (or a gateway)
//! whose budget is spent gets 429 `budget_exceeded` and nothing goes
//! upstream; cache hits included, since a budget that is spent means the
//! key is stopped, not that it may still read. An admitted request reserves
//! its estimated cost — its prompt, counted with its dialect's rule, at the
//! routed model's input price — in its notes, where its usage record
//! settles it with what it really cost.

use std::sync::Arc;

use super::{Incoming, Routing, rate_limits};
use crate::error::AppError;
use crate::pipeline::ParsedRequest;
use crate::tokens::Usage;
use crate::upstream::Route;

/// Admits the request or refuses it with 429 `budget_exceeded`.
pub async fn admit(
    routing: &Routing,
    incoming: &Incoming,
    route: &Route,
    request: &dyn ParsedRequest,
) -> Result<(), AppError> {
    if routing.budgets.is_empty() {
        return Ok(());
    }
    let estimate = match routing
        .prices
        .lookup(route.provider.name(), &route.upstream_model)
    {
        Some(price) => {
            let prompt_tokens =
                rate_limits::estimate_prompt(&route.upstream_model, request.prompt()).await;
            let usage = Usage {
                prompt_tokens,
                ..Usage::default()
            };
            price.charge(&usage).cost_usd
        }
        // An unpriced model cannot be estimated (and costs 0 when it ends).
        None => 0.0,
    };
    let key = incoming.caller.limit_id();
    let admitted = match routing.budgets.is_shared() {
        // The shared spend is read from Redis: off the async threads.
        true => {
            let (budgets, owned) = (Arc::clone(&routing.budgets), key.to_string());
            tokio::task::spawn_blocking(move || budgets.admit(&owned, estimate))
                .await
                .map_err(|_| AppError::ShuttingDown)?
        }
        false => routing.budgets.admit(key, estimate),
    };
    let reservation = admitted.map_err(|exceeded| {
        tracing::info!(key, "over budget");
        AppError::BudgetExceeded {
            message: exceeded.message,
            retry_after: exceeded.retry_after,
        }
    })?;
    let reservation = Arc::new(reservation);
    incoming
        .slot
        .update(|notes| notes.budget = Some(Arc::clone(&reservation)));
    Ok(())
}
