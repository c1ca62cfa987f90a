//! The usage database over HTTP, behind the dashboard's access rules:
//!
//! - `GET /api/stats?since=&until=&by=&format=`: the `llm-bridge stats`
//!   report, as JSON (the default) or CSV (`format=csv`, sent as a
//!   download). Rows are by model unless `by` says otherwise (`by=none`
//!   gives the total alone), since a report without rows is rarely what a
//!   dashboard or a person wants; the total is always there.
//! - `GET /api/stats/series?since=&until=&step=`: the window in steps, for
//!   the Usage tab's charts ([`crate::stats::query::series`]).
//!
//! Records queued by the usage store are written first (waiting briefly),
//! so a request that just ended is in the answer. `/api/requests` reads the
//! same database ([`super::requests`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::request_log::RequestLog;
use crate::stats::query::Source;
use crate::stats::{Series, SeriesQuery, StatsQuery, UsageStore, report, series};

/// What the usage routes read.
#[derive(Clone)]
pub struct StatsState {
    /// `None` when the usage database could not be opened.
    pub store: Option<UsageStore>,
    /// Where reports read: the data folder's file, or PostgreSQL.
    pub source: Source,
    /// Where a request's log line is looked up.
    pub request_log: RequestLog,
}

/// Longest wait for queued records to be written before reading without
/// them (a stuck disk must not hang the endpoint).
const FLUSH_PATIENCE: Duration = Duration::from_secs(2);

impl StatsState {
    /// Runs `read` on the blocking pool over the data folder, after the
    /// queued records are written.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Source) -> Result<T, crate::stats::StatsError> + Send + 'static,
    ) -> Result<T, AppError> {
        let Some(store) = self.store.clone() else {
            return Err(AppError::StatsUnavailable(
                "the usage database could not be opened at start-up (the log says why)".into(),
            ));
        };
        let source = self.source.clone();
        tokio::task::spawn_blocking(move || {
            store.flush(FLUSH_PATIENCE);
            read(&source)
        })
        .await
        .map_err(|_| AppError::StatsUnavailable("the read was interrupted".into()))?
        .map_err(|error| AppError::StatsUnavailable(error.to_string()))
    }
}

/// A 400 for a query parameter, as the parsers name it.
pub(super) fn bad_param((param, message): (&'static str, String)) -> AppError {
    AppError::InvalidField { param, message }
}

/// `GET /api/stats`.
pub async fn stats(
    State(state): State<StatsState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let by = match param("by") {
        None => Some("model"),
        Some("" | "none") => None,
        named => named,
    };
    let csv = match param("format").map(str::trim) {
        None | Some("" | "json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(bad_param((
                "format",
                format!("format: `{other}` is not json or csv"),
            )));
        }
    };
    let query = StatsQuery::from_params(param("since"), param("until"), by)
        .map_err(|message| bad_param((which_param(&message), message)))?;
    let report = state.read(move |dir| report(dir, &query)).await?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    let name = format!(
        "attachment; filename=\"llm-bridge-stats-{}.csv\"",
        report.by.map_or("total", |by| by.as_str())
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (CONTENT_DISPOSITION, name),
        ],
        crate::stats::csv::csv(&report),
    )
        .into_response())
}

/// `GET /api/stats/series`.
pub async fn stats_series(
    State(state): State<StatsState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Series>, AppError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let query = SeriesQuery::from_params(
        param("since"),
        param("until"),
        param("step"),
        crate::stats::store::now_ms(),
    )
    .map_err(bad_param)?;
    Ok(Json(state.read(move |dir| series(dir, &query)).await?))
}

/// The parameter an error message from [`StatsQuery::from_params`] names.
fn which_param(message: &str) -> &'static str {
    match message.split(':').next() {
        Some("since") => "since",
        Some("until") => "until",
        _ => "by",
    }
}
