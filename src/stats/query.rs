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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{DATABASE_FILE, StatsError};

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
}

impl GroupBy {
    /// `model`, `provider`, `key` or `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Key => "key",
            Self::Day => "day",
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
            _ => Err(format!(
                "`{text}` is not one of model, provider, key or day"
            )),
        }
    }
}

/// A moment as Unix ms: a duration back from now (`7d`, `12h`, see
/// [`parse_duration`]), a date (`2026-11-01`, UTC midnight) or
/// an RFC 3339 time (`2026-11-01T09:00:00+08:00`).
pub fn parse_time(text: &str) -> Result<i64, String> {
    parse_time_at(text, super::store::now_ms())
}

/// [`parse_time`] with durations counted back from `now_ms`.
pub fn parse_time_at(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let looks_like_duration =
        text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':', 'T']);
    if looks_like_duration {
        let back = parse_duration(text)?;
        let back_ms = i64::try_from(back.as_millis()).unwrap_or(i64::MAX);
        return Ok(now_ms.saturating_sub(back_ms));
    }
    Err(format!(
        "`{text}` is not a duration back from now (7d, 12h), a date (2026-11-01) \
         or an RFC 3339 time (2026-11-01T09:00:00Z)"
    ))
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
    /// Requests whose token counts are local estimates.
    pub estimated_requests: u64,
    /// Sum of the known costs, USD; `None` when none is known.
    pub cost_usd: Option<f64>,
    /// Requests whose cost is unknown, left out of `cost_usd`.
    pub cost_unknown_requests: u64,
    /// What cache hits saved, USD.
    pub cost_saved_usd: f64,
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
pub fn report(path_or_dir: &Path, query: &StatsQuery) -> Result<StatsReport, StatsError> {
    let path = if path_or_dir.is_file() {
        path_or_dir.to_path_buf()
    } else {
        path_or_dir.join(DATABASE_FILE)
    };
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
    if !path.is_file() {
        report.note = Some(empty_note());
        return Ok(report);
    }
    let read_error = |source| StatsError::Read {
        path: path.clone(),
        source,
    };
    let connection = Connection::open_with_flags(
        &path,
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
    if !has_table {
        report.note = Some(empty_note());
        return Ok(report);
    }
    let (rows, total) = tally(&connection, query).map_err(read_error)?;
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

/// One stored request, as far as reports need it.
struct Request {
    time_ms: i64,
    key_name: Option<String>,
    provider: Option<String>,
    model_asked: Option<String>,
    model_answered: Option<String>,
    hit: bool,
    status: i64,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    cached_tokens: Option<i64>,
    estimated: bool,
    cost_usd: Option<f64>,
    cost_saved_usd: Option<f64>,
    ttfb_ms: Option<f64>,
    total_ms: f64,
}

fn tally(
    connection: &Connection,
    query: &StatsQuery,
) -> rusqlite::Result<(Vec<StatsRow>, StatsRow)> {
    let mut statement = connection.prepare(
        "SELECT time_ms, key_name, provider, model_asked, model_answered, cache, status, \
         prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd, cost_saved_usd, \
         ttfb_ms, total_ms FROM requests WHERE time_ms >= ?1 AND time_ms < ?2",
    )?;
    let since = query.since.unwrap_or(i64::MIN);
    let until = query.until.unwrap_or(i64::MAX);
    let requests = statement.query_map([since, until], |row| {
        Ok(Request {
            time_ms: row.get(0)?,
            key_name: row.get(1)?,
            provider: row.get(2)?,
            model_asked: row.get(3)?,
            model_answered: row.get(4)?,
            hit: row.get::<_, Option<String>>(5)?.as_deref() == Some("HIT"),
            status: row.get(6)?,
            prompt_tokens: row.get(7)?,
            completion_tokens: row.get(8)?,
            cached_tokens: row.get(9)?,
            estimated: row.get(10)?,
            cost_usd: row.get(11)?,
            cost_saved_usd: row.get(12)?,
            ttfb_ms: row.get(13)?,
            total_ms: row.get(14)?,
        })
    })?;
    let mut total = Tally::default();
    let mut groups: HashMap<String, Tally> = HashMap::new();
    for request in requests {
        let request = request?;
        total.add(&request);
        if let Some(by) = query.by {
            groups
                .entry(group_of(by, &request))
                .or_default()
                .add(&request);
        }
    }
    let mut rows: Vec<StatsRow> = groups
        .into_iter()
        .map(|(group, tally)| tally.finish(Some(group)))
        .collect();
    if query.by == Some(GroupBy::Day) {
        rows.sort_by(|a, b| a.group.cmp(&b.group));
    } else {
        rows.sort_by(|a, b| {
            b.cost_usd
                .unwrap_or(0.0)
                .total_cmp(&a.cost_usd.unwrap_or(0.0))
                .then(b.requests.cmp(&a.requests))
                .then(a.group.cmp(&b.group))
        });
    }
    Ok((rows, total.finish(None)))
}

/// The group a request falls in. Missing names show as `(none)`.
fn group_of(by: GroupBy, request: &Request) -> String {
    const NONE: &str = "(none)";
    match by {
        GroupBy::Model => {
            let model = request
                .model_answered
                .as_deref()
                .or(request.model_asked.as_deref())
                .unwrap_or(NONE);
            match &request.provider {
                Some(provider) => format!("{provider}/{model}"),
                None => model.to_string(),
            }
        }
        GroupBy::Provider => request.provider.as_deref().unwrap_or(NONE).to_string(),
        GroupBy::Key => request.key_name.as_deref().unwrap_or(NONE).to_string(),
        GroupBy::Day => chrono::DateTime::from_timestamp_millis(request.time_ms)
            .map_or_else(|| NONE.to_string(), |t| t.format("%Y-%m-%d").to_string()),
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    hits: u64,
    errors: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
    estimated: u64,
    cost: f64,
    cost_known: u64,
    saved: f64,
    total_ms: Vec<f64>,
    ttfb_ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, request: &Request) {
        let tokens = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        self.requests += 1;
        self.hits += u64::from(request.hit);
        self.errors += u64::from(request.status >= 400);
        self.prompt_tokens += tokens(request.prompt_tokens);
        self.completion_tokens += tokens(request.completion_tokens);
        self.cached_tokens += tokens(request.cached_tokens);
        self.estimated += u64::from(request.estimated);
        if let Some(cost) = request.cost_usd {
            self.cost += cost;
            self.cost_known += 1;
        }
        self.saved += request.cost_saved_usd.unwrap_or(0.0);
        self.total_ms.push(request.total_ms);
        self.ttfb_ms.extend(request.ttfb_ms);
    }

    fn finish(mut self, group: Option<String>) -> StatsRow {
        self.total_ms.sort_by(f64::total_cmp);
        self.ttfb_ms.sort_by(f64::total_cmp);
        StatsRow {
            group,
            requests: self.requests,
            hits: self.hits,
            hit_rate: if self.requests == 0 {
                0.0
            } else {
                self.hits as f64 / self.requests as f64
            },
            errors: self.errors,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cached_tokens: self.cached_tokens,
            estimated_requests: self.estimated,
            cost_usd: (self.cost_known > 0).then(|| dollars(self.cost)),
            cost_unknown_requests: self.requests - self.cost_known,
            cost_saved_usd: dollars(self.saved),
            latency_p50_ms: percentile(&self.total_ms, 50),
            latency_p95_ms: percentile(&self.total_ms, 95),
            ttfb_p50_ms: percentile(&self.ttfb_ms, 50),
        }
    }
}

/// Rounds a sum to a billionth of a dollar, so adding many small prices
/// does not print as `0.30000000000000004`.
fn dollars(sum: f64) -> f64 {
    (sum * 1e9).round() / 1e9
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `p`% of the values at or below it.
fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 12h or 7d"))?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown unit `{other}`: use s, m, h, d or w")),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(unit_secs),
    ))
}

#[cfg(test)]
mod tests {
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
            "by: `week` is not one of model, provider, key or day"
        );
        let error = StatsQuery::from_params(None, Some("soon"), None).unwrap_err();
        assert!(error.starts_with("until: `soon` is not"), "{error}");
    }
}
