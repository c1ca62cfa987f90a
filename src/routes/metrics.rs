//! `GET /metrics`: this instance's Prometheus metrics. Behind the access
//! keys when they are set, like the API routes: it shows model names,
//! traffic and spend.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::config::CacheMode;
use crate::metrics::{self, Snapshot};

pub async fn metrics(State(state): State<AppState>) -> Response {
    // With the cache off its folder is never read, so it is not listed
    // just to be counted.
    let (cache_entries, cache_bytes) = match state.cache.settings.mode {
        CacheMode::Off => (0, 0),
        _ => state.cache.totals().await.unwrap_or_default(),
    };
    let snapshot = Snapshot {
        cache_entries,
        cache_bytes,
        usage_dropped: state.usage_store().map_or(0, |store| store.dropped()),
    };
    let text = state.metrics.render(&snapshot);
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
