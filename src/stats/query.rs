//! Reports over the usage database: requests, cache hits, tokens, cost and
//! latency in a time window, in total and per model, provider, key or day.
//!
//! A report opens its own read-only connection; the database is in WAL
//! mode, so it reads a consistent snapshot while the server goes on
//! writing. Sums and percentiles are computed here from the window's rows
//! rather than in SQL, because SQLite has no percentile function: memory is
//! about 16 bytes per request in the window (its latencies), 60 MB for a
//! million requests, which is years of one person's or one team's use.
//!
//! Definitions: a hit is a request answered from the response cache
//! (`cache = 'HIT'`), and the hit rate is hits over all requests. An error
//! is a status of 400 or more. Latency percentiles are nearest-rank, over
//! every request in the group, hits included (a hit's latency is what the
//! client saw); the first-byte percentile is over requests that sent one.
//! The cost is the sum of the known costs; `cost_unknown_requests` counts
//! the requests whose cost is unknown (no price for the model, no token
//! counts), and `cost_usd` is `None` only when no request's cost is known.
//! Two savings are kept apart: `cost_saved_usd` is what llm-bridge's
//! response cache saved (the cost of the answers it replayed),
//! `provider_cache_saved_usd` what the providers' prompt caches saved (their
//! cached reads, cheaper than input). Rows from before schema version 2
//! have no cache write, reasoning or provider saving figures: they count 0.
//!
//! This file owns the query, the report's shape and opening the database;
//! the sums and percentiles are [`tally`]'s, the charts' steps
//! [`series`]', and reading the window's ends from text is [`time`]'s.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::postgres::Window;
use super::{DATABASE_FILE, StatsError};
use tally::tally;
pub use time::{parse_duration, parse_time, parse_time_at};

pub mod series;
mod tally;
mod time;

/// What a report covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// Requests at or after this, Unix ms.
    pub since: Option<i64>,
    /// Requests before this, Unix ms (exclusive, so `--since 2026-11-01
    /// --until 2026-11-08` is seven whole days).
    pub until: Option<i64>,
    /// Rows by this; `None` gives only the total.
    pub by: Option<GroupBy>,
}

impl StatsQuery {
    /// A query from text, as `/api/stats?since=…&until=…&by=…` or the
    /// command line give it. Errors say which parameter is wrong and why.
    pub fn from_params(
        since: Option<&str>,
        until: Option<&str>,
        by: Option<&str>,
    ) -> Result<Self, String> {
        let now = super::store::now_ms();
        let time = |text: Option<&str>, name: &str| {
            text.filter(|t| !t.trim().is_empty())
                .map(|t| parse_time_at(t, now).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        Ok(Self {
            since: time(since, "since")?,
            until: time(until, "until")?,
            by: by
                .filter(|b| !b.trim().is_empty())
                .map(|b| b.parse().map_err(|e| format!("by: {e}")))
                .transpose()?,
        })
    }
}

/// What the rows of a report stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// `provider/model`, by the model that answered (else the one asked).
    Model,
    /// The provider that answered (a fallback's, when one did).
    Provider,
    /// The access key's name.
    Key,
    /// The UTC date.
    Day,
    /// The instance that served it (`[stats] instance`), for a ledger
    /// several instances write to.
    Instance,
}

impl GroupBy {
    /// `model`, `provider`, `key` or `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Key => "key",
            Self::Day => "day",
            Self::Instance => "instance",
        }
    }
}

impl FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "model" => Ok(Self::Model),
            "provider" => Ok(Self::Provider),
            "key" => Ok(Self::Key),
            "day" => Ok(Self::Day),
            "instance" => Ok(Self::Instance),
            _ => Err(format!(
                "`{text}` is not one of model, provider, key, day or instance"
            )),
        }
    }
}

/// One group's figures (or the total's, where `group` is `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsRow {
    pub group: Option<String>,
    pub requests: u64,
    /// Requests answered from the response cache.
    pub hits: u64,
    /// `hits / requests`, 0 without requests.
    pub hit_rate: f64,
    /// Requests with a status of 400 or more.
    pub errors: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's prompt cache, 5-minute
    /// entries (and writes without a lifetime).
    pub cache_write_tokens: u64,
    /// Prompt tokens written to a 1-hour prompt cache entry.
    pub cache_write_1h_tokens: u64,
    /// Completion tokens spent reasoning.
    pub reasoning_tokens: u64,
    /// Requests whose token counts are local estimates.
    pub estimated_requests: u64,
    /// Sum of the known costs, USD; `None` when none is known.
    pub cost_usd: Option<f64>,
    /// Requests whose cost is unknown, left out of `cost_usd`.
    pub cost_unknown_requests: u64,
    /// What llm-bridge's response cache saved, USD: the cost of the answers
    /// its hits (and shared flights) replayed.
    pub cost_saved_usd: f64,
    /// What the providers' own prompt caches saved, USD: cached prompt
    /// tokens at the input price less at the cached price. Apart from
    /// `cost_saved_usd`: a hit reached no provider and adds nothing here.
    pub provider_cache_saved_usd: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub ttfb_p50_ms: Option<f64>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    /// The window, Unix ms, as asked (`until` exclusive).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub by: Option<GroupBy>,
    /// By cost, highest first (then requests, then name); by date for
    /// [`GroupBy::Day`]. Empty without `by`.
    pub rows: Vec<StatsRow>,
    pub total: StatsRow,
    /// Why the report is empty, when it is.
    pub note: Option<String>,
    /// The database read.
    #[serde(skip)]
    pub database: PathBuf,
}

/// Reads a report from the database in `path_or_dir` (the data folder, or
/// the file itself). A folder without a database gives an empty report
/// with a note, not an error. Blocking: call it off the async runtime.
pub fn report(source: impl Into<Source>, query: &StatsQuery) -> Result<StatsReport, StatsError> {
    let source = source.into();
    let path = source.shown();
    let mut report = StatsReport {
        since_ms: query.since,
        until_ms: query.until,
        by: query.by,
        rows: Vec::new(),
        total: StatsRow::default(),
        note: None,
        database: path.clone(),
    };
    let empty_note = || format!("no statistics yet in {}", path.display());
    let window = Window {
        since: query.since,
        until: query.until,
        ..Window::default()
    };
    let Some(connection) = source.reader(&window)? else {
        report.note = Some(empty_note());
        return Ok(report);
    };
    let (rows, total) = tally(&connection, query).map_err(|source| StatsError::Read {
        path: path.clone(),
        source,
    })?;
    if total.requests == 0 {
        report.note = Some(if query.since.is_some() || query.until.is_some() {
            "no requests in this time window".to_string()
        } else {
            empty_note()
        });
    }
    report.rows = rows;
    report.total = total;
    Ok(report)
}

/// Where reports read from: this instance's SQLite file (the data folder,
/// or the file itself), or the PostgreSQL database every instance writes
/// to ([`super::postgres`]).
#[derive(Debug, Clone)]
pub enum Source {
    Folder(PathBuf),
    Postgres(String),
}

impl From<&Path> for Source {
    fn from(path: &Path) -> Self {
        Self::Folder(path.to_path_buf())
    }
}

impl From<&PathBuf> for Source {
    fn from(path: &PathBuf) -> Self {
        Self::Folder(path.clone())
    }
}

impl From<&Source> for Source {
    fn from(source: &Source) -> Self {
        source.clone()
    }
}

impl Source {
    /// The ledger for `url` when given, else `dir`'s file.
    pub fn new(dir: &Path, url: Option<&str>) -> Self {
        match url {
            Some(url) => Self::Postgres(url.to_string()),
            None => Self::Folder(dir.to_path_buf()),
        }
    }

    /// What messages call it: the file, or the URL without its password.
    pub fn shown(&self) -> PathBuf {
        match self {
            Self::Folder(path) => database_path(path),
            Self::Postgres(url) => PathBuf::from(crate::config::secret::displayable_url(url)),
        }
    }

    /// A connection holding (at least) the rows `window` asks for, or
    /// `None` when nothing was recorded yet. Blocking.
    pub(super) fn reader(&self, window: &Window) -> Result<Option<Connection>, StatsError> {
        match self {
            Self::Folder(path) => open_reader(&database_path(path)),
            Self::Postgres(url) => super::postgres::materialize(url, window).map(Some),
        }
    }
}

/// The database file in `path_or_dir` (the data folder, or the file).
pub(super) fn database_path(path_or_dir: &Path) -> PathBuf {
    if path_or_dir.is_file() {
        path_or_dir.to_path_buf()
    } else {
        path_or_dir.join(DATABASE_FILE)
    }
}

/// A read-only connection to the database at `path`, or `None` when there
/// is no database (or no table) yet: nothing has been recorded.
pub(super) fn open_reader(path: &Path) -> Result<Option<Connection>, StatsError> {
    if !path.is_file() {
        return Ok(None);
    }
    let read_error = |source| StatsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(read_error)?;
    connection
        .busy_timeout(super::store::BUSY_TIMEOUT)
        .map_err(read_error)?;
    let has_table: bool = connection
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'requests'",
            [],
            |row| row.get(0),
        )
        .map_err(read_error)?;
    Ok(has_table.then_some(connection))
}

#[cfg(test)]
mod tests {
    use super::tally::percentile;
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 50), Some(10.0));
        assert_eq!(percentile(&values, 95), Some(19.0));
        assert_eq!(percentile(&[7.0], 95), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0], 50), Some(1.0));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn times_durations_dates_and_rfc3339() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_time_at("7d", now), Ok(now - 7 * 86_400_000));
        assert_eq!(parse_time_at("90", now), Ok(now - 90_000));
        assert_eq!(parse_time_at("2026-11-01", now), Ok(1_793_491_200_000));
        assert_eq!(
            parse_time_at("2026-11-01T08:00:00+08:00", now),
            Ok(1_793_491_200_000)
        );
        assert!(parse_time_at("last week", now).is_err());
        assert!(parse_time_at("2026-13-01", now).is_err());
        assert!(parse_time_at("5y", now).unwrap_err().contains("unit"));
    }

    #[test]
    fn query_from_params() {
        let query = StatsQuery::from_params(Some("2026-11-01"), None, Some("Model")).unwrap();
        assert_eq!(query.since, Some(1_793_491_200_000));
        assert_eq!(query.until, None);
        assert_eq!(query.by, Some(GroupBy::Model));
        assert_eq!(
            StatsQuery::from_params(None, Some(""), None).unwrap(),
            StatsQuery::default()
        );
        let error = StatsQuery::from_params(None, None, Some("week")).unwrap_err();
        assert_eq!(
            error,
            "by: `week` is not one of model, provider, key, day or instance"
        );
        let error = StatsQuery::from_params(None, Some("soon"), None).unwrap_err();
        assert!(error.starts_with("until: `soon` is not"), "{error}");
    }
}
