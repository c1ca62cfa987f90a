//! The Requests tab's history, from the usage database:
//!
//! - `GET /api/requests?limit=&before=&model=&key=&status=&cache=`: the
//!   newest requests first (100 unless `limit` says, at most 1,000; page
//!   back with `before=<time_ms of the last row>`), filtered by model
//!   (asked or answered), access key name, status (`200`, `4xx`, `error`)
//!   and cache (`HIT`, `MISS`, `BYPASS`). Rows are the same as the live
//!   feed's `request` objects.
//! - `GET /api/requests/{id}`: one request by its id (`x-request-id`): its
//!   row and its request-log line (`null` once rotated out of the kept
//!   files). 404 `not_found` when the database has no such request.
//!
//! Rows hold no body and no key: bodies are in the cache entry the row's
//! `cache_key` names, and in the log line only with `log_bodies` on.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::stats::{StatsState, bad_param};
use crate::error::AppError;
use crate::stats::{RecentQuery, by_request_id, recent};

/// `GET /api/requests`.
pub async fn list(
    State(state): State<StatsState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let query = RecentQuery::from_params(&params).map_err(bad_param)?;
    let rows = state.read(move |dir| recent(dir, &query)).await?;
    Ok(Json(json!({ "requests": rows })))
}

/// `GET /api/requests/{id}`.
pub async fn one(
    State(state): State<StatsState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let wanted = id.clone();
    let row = state
        .read(move |dir| by_request_id(dir, &wanted))
        .await?
        .ok_or_else(|| AppError::Missing(format!("no request `{id}` in the usage database")))?;
    let log = state.request_log.clone();
    // A log line that cannot be read (a file unreadable) leaves the row
    // alone: it is the part the database answers for.
    let line = tokio::task::spawn_blocking(move || log.find(&id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    Ok(Json(json!({ "request": row, "log": line })))
}
