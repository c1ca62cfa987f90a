//! `GET /metrics`: this instance's Prometheus metrics. Behind the access
//! keys when they are set, like the API routes: it shows model names,
//! traffic and spend.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::budgets::Budgets;
use crate::cache::Cache;
use crate::cache::tiered::SharedHealth;
use crate::config::CacheMode;
use crate::config::live::Current;
use crate::metrics::{self, Metrics, Snapshot};
use crate::stats::UsageStore;

/// What `/metrics` reads.
#[derive(Clone)]
pub struct MetricsState {
    pub metrics: Arc<Metrics>,
    pub cache: Arc<Cache>,
    /// `None` when the usage database could not be opened.
    pub usage_store: Option<UsageStore>,
    pub budgets: Current<Budgets>,
    /// Whether Redis answers, when the cache is shared through it.
    pub shared_cache: Option<Arc<SharedHealth>>,
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<MetricsState>) -> Response {
    // With the cache off its folder is never read, so it is not listed
    // just to be counted.
    let (cache_entries, cache_bytes) = match state.cache.settings.mode {
        CacheMode::Off => (0, 0),
        _ => state.cache.totals().await.unwrap_or_default(),
    };
    let snapshot = Snapshot {
        cache_entries,
        cache_bytes,
        usage_dropped: state
            .usage_store
            .as_ref()
            .map_or(0, |store| store.dropped()),
        budgets: state.budgets.now().view(),
        shared_cache: state.shared_cache.as_ref().map(|health| {
            let view = health.view();
            (view.up, view.errors)
        }),
    };
    let text = state.metrics.render(&snapshot);
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
