//! `GET /api/stats?since=&until=&by=`: the `llm-bridge stats` report as
//! JSON, behind the access keys when they are set. Rows are by model unless
//! `by` says otherwise (`by=none` gives the total alone), since a report
//! without rows is rarely what a dashboard or a person wants; the total is
//! always there. Records queued by the
//! usage store are written first (waiting briefly), so a request that just
//! ended is in the report.

use std::collections::HashMap;
use std::time::Duration;

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Query, State};

use crate::error::AppError;
use crate::stats::{StatsQuery, StatsReport, UsageStore, report};

/// What `/api/stats` reads.
#[derive(Clone)]
pub struct StatsState {
    /// `None` when the usage database could not be opened.
    pub store: Option<UsageStore>,
    /// Its folder.
    pub data_dir: PathBuf,
}

/// Longest wait for queued records to be written before reporting without
/// them (a stuck disk must not hang the endpoint).
const FLUSH_PATIENCE: Duration = Duration::from_secs(2);

/// `GET /api/stats`.
pub async fn stats(
    State(state): State<StatsState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<StatsReport>, AppError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let by = match param("by") {
        None => Some("model"),
        Some("" | "none") => None,
        named => named,
    };
    let query = StatsQuery::from_params(param("since"), param("until"), by).map_err(|message| {
        AppError::InvalidField {
            param: which_param(&message),
            message,
        }
    })?;
    let Some(store) = state.store.clone() else {
        return Err(AppError::StatsUnavailable(
            "the usage database could not be opened at start-up (the log says why)".into(),
        ));
    };
    let dir = state.data_dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        store.flush(FLUSH_PATIENCE);
        report(&dir, &query)
    })
    .await
    .map_err(|_| AppError::StatsUnavailable("the report was interrupted".into()))?
    .map_err(|error| AppError::StatsUnavailable(error.to_string()))?;
    Ok(Json(report))
}

/// The parameter an error message from [`StatsQuery::from_params`] names.
fn which_param(message: &str) -> &'static str {
    match message.split(':').next() {
        Some("since") => "since",
        Some("until") => "until",
        _ => "by",
    }
}
