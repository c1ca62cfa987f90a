//! The last step of a chat request: its [`UsageRecord`] is built from what
//! the request path learned and handed to the usage store and the metrics.
//!
//! Runs when the response body ends (or the client leaves), never before a
//! client has its answer. Building is a few field copies and a price lookup;
//! only a missing usage needs the tokenizer, which then runs on the
//! blocking pool so a long prompt never holds up an async thread.

use crate::app::AppState;
use crate::usage::record::Finished;
use crate::usage::{Usage, UsageRecord};

/// Records a finished chat request.
pub fn account(state: &AppState, finished: &Finished<'_>) {
    let live = state.live();
    if !finished.entry.metering.needs_estimate(finished.status) {
        let record = UsageRecord::build(finished, |p, m, u| price(&live, p, m, u));
        deliver(state, record);
        return;
    }
    let state = state.clone();
    let entry = finished.entry.clone();
    let request_id = finished.request_id.to_string();
    let (time_ms, status, ttfb_ms, total_ms) = (
        finished.time_ms,
        finished.status,
        finished.ttfb_ms,
        finished.total_ms,
    );
    // Tracked, so a shutdown writes the record before closing the store.
    let accounting = state.accounting().clone();
    accounting.spawn_blocking(move || {
        let finished = Finished {
            time_ms,
            request_id: &request_id,
            entry: &entry,
            status,
            ttfb_ms,
            total_ms,
        };
        let record = UsageRecord::build(&finished, |p, m, u| price(&live, p, m, u));
        deliver(&state, record);
    });
}

fn price(live: &crate::app::Live, provider: &str, model: &str, usage: &Usage) -> Option<f64> {
    live.config.prices.cost(
        provider,
        model,
        usage.prompt_tokens,
        usage.cached_tokens,
        usage.completion_tokens,
    )
}

fn deliver(state: &AppState, record: UsageRecord) {
    state.metrics.record(&record);
    if let Some(store) = state.usage_store() {
        store.record(record);
    }
}
