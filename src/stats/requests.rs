//! Single requests out of the usage database, for the dashboard's Requests
//! tab: the newest ones matching a filter, and one looked up by its
//! request id. Rows come back as the [`UsageRecord`]s they were written
//! from; a row written before schema version 3 has no route, error code or
//! cache key.

use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, Row};

use super::StatsError;
use super::postgres::Window;
use super::query::Source;
use crate::usage::{CacheStatus, UsageRecord};

/// Rows a listing gives unless asked otherwise: a screenful and more.
pub const DEFAULT_LIMIT: usize = 100;
/// Most rows one listing gives; paging goes on with `before`.
pub const MAX_LIMIT: usize = 1000;
/// From PostgreSQL, a listing filters the newest this many rows of all
/// instances (a filter matching only older ones shows them by paging).
const NEWEST_COPIED: i64 = 50_000;

/// Which requests a listing gives, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentQuery {
    pub limit: usize,
    /// Requests that arrived before this, Unix ms (the last row's
    /// `time_ms`, to page back).
    pub before: Option<i64>,
    /// The model asked or the one that answered (`model` or
    /// `provider/model`), case-insensitive.
    pub model: Option<String>,
    /// The access key's name.
    pub key: Option<String>,
    pub status: Option<StatusFilter>,
    pub cache: Option<CacheStatus>,
}

/// A status filter: one code, a class (`4xx`) or `error` (400 and up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Code(u16),
    Class(u16),
    Error,
}

impl StatusFilter {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        if text == "error" {
            return Some(Self::Error);
        }
        let class = text
            .strip_suffix("xx")
            .and_then(|digit| digit.parse::<u16>().ok());
        match (class, text.parse::<u16>()) {
            (Some(class @ 1..=5), _) if text.len() == 3 => Some(Self::Class(class)),
            (_, Ok(code @ 100..=599)) => Some(Self::Code(code)),
            _ => None,
        }
    }
}

impl RecentQuery {
    /// A query from `/api/requests`' parameters. The error names the
    /// parameter and says what it accepts.
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, (&'static str, String)> {
        let given = |name: &str| {
            params
                .get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        };
        let limit = match given("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    (
                        "limit",
                        format!("limit: `{text}` is not a number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let before = given("before")
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    (
                        "before",
                        format!("before: `{text}` is not a time in Unix milliseconds"),
                    )
                })
            })
            .transpose()?;
        let status = given("status")
            .map(|text| {
                StatusFilter::parse(text).ok_or_else(|| {
                    let message = format!(
                        "status: `{text}` is not a status code (200), a class (4xx) or `error`"
                    );
                    ("status", message)
                })
            })
            .transpose()?;
        let cache = given("cache")
            .map(|text| {
                CacheStatus::parse(text).ok_or_else(|| {
                    (
                        "cache",
                        format!("cache: `{text}` is not one of HIT, MISS or BYPASS"),
                    )
                })
            })
            .transpose()?;
        Ok(Self {
            limit,
            before,
            model: given("model").map(str::to_string),
            key: given("key").map(str::to_string),
            status,
            cache,
        })
    }

    /// The `WHERE` clause and its values.
    fn condition(&self) -> (String, Vec<Sql>) {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        // Every `?` of a clause stands for its one value.
        let mut add = |clause: &str, value: Sql| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("?{}", values.len())));
        };
        if let Some(before) = self.before {
            add("time_ms < ?", Sql::Integer(before));
        }
        if let Some(model) = &self.model {
            add(
                "(model_asked = ? COLLATE NOCASE OR model_answered = ? COLLATE NOCASE \
                 OR provider || '/' || model_answered = ? COLLATE NOCASE)",
                Sql::Text(model.clone()),
            );
        }
        if let Some(key) = &self.key {
            add("key_name = ?", Sql::Text(key.clone()));
        }
        match self.status {
            Some(StatusFilter::Code(code)) => add("status = ?", Sql::Integer(code.into())),
            Some(StatusFilter::Class(class)) => add("status / 100 = ?", Sql::Integer(class.into())),
            Some(StatusFilter::Error) => add("status >= ?", Sql::Integer(400)),
            None => {}
        }
        if let Some(cache) = self.cache {
            add("cache = ?", Sql::Text(cache.as_str().into()));
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (condition, values)
    }
}

/// The columns [`record_of`] reads, in its order.
const COLUMNS: &str = "time_ms, request_id, endpoint, key_name, provider, model_asked, \
    model_answered, stream, cache, cache_key, status, error, prompt_tokens, completion_tokens, \
    cached_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, estimated, \
    cost_usd, cost_saved_usd, provider_cache_saved_usd, ttfb_ms, total_ms, instance";

/// The newest requests `query` asks for, newest first. Blocking.
pub fn recent(
    source: impl Into<Source>,
    query: &RecentQuery,
) -> Result<Vec<UsageRecord>, StatsError> {
    let (condition, mut values) = query.condition();
    values.push(Sql::Integer(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {COLUMNS} FROM requests {condition} ORDER BY time_ms DESC, id DESC LIMIT ?{}",
        values.len()
    );
    // From PostgreSQL, the newest rows of every instance (filtered here).
    let window = Window {
        until: query.before,
        newest: Some(NEWEST_COPIED),
        ..Window::default()
    };
    read(source.into(), &window, |connection| {
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), record_of)?;
        rows.collect()
    })
}

/// The request with this id (the latest, should a retried id repeat), if
/// the database has it. Blocking.
pub fn by_request_id(
    source: impl Into<Source>,
    id: &str,
) -> Result<Option<UsageRecord>, StatsError> {
    let sql = format!("SELECT {COLUMNS} FROM requests WHERE request_id = ?1 ORDER BY id DESC");
    let window = Window {
        request_id: Some(id.to_string()),
        ..Window::default()
    };
    read(source.into(), &window, |connection| {
        let mut statement = connection.prepare(&sql)?;
        let mut rows = statement.query_map([id], record_of)?;
        rows.next().transpose()
    })
}

/// Runs `work` on a read-only connection; a database not yet written gives
/// the default (nothing found).
fn read<T: Default>(
    source: Source,
    window: &Window,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StatsError> {
    let Some(connection) = source.reader(window)? else {
        return Ok(T::default());
    };
    work(&connection).map_err(|error| StatsError::Read {
        path: source.shown(),
        source: error,
    })
}

fn record_of(row: &Row<'_>) -> rusqlite::Result<UsageRecord> {
    let count = |index: usize| -> rusqlite::Result<Option<u64>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .and_then(|n| u64::try_from(n).ok()))
    };
    Ok(UsageRecord {
        time_ms: row.get(0)?,
        request_id: row.get(1)?,
        endpoint: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
        key_name: row.get(3)?,
        provider: row.get(4)?,
        model_asked: row.get(5)?,
        model_answered: row.get(6)?,
        stream: row.get(7)?,
        cache: row
            .get::<_, Option<String>>(8)?
            .as_deref()
            .and_then(CacheStatus::parse),
        cache_key: row.get(9)?,
        status: row.get(10)?,
        error: row.get(11)?,
        prompt_tokens: count(12)?,
        completion_tokens: count(13)?,
        cached_tokens: count(14)?,
        cache_write_tokens: count(15)?,
        cache_write_1h_tokens: count(16)?,
        reasoning_tokens: count(17)?,
        estimated: row.get(18)?,
        cost_usd: row.get(19)?,
        cost_saved_usd: row.get(20)?,
        provider_cache_saved_usd: row.get(21)?,
        ttfb_ms: row.get(22)?,
        total_ms: row.get(23)?,
        instance: row.get(24)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn statuses_are_codes_classes_or_errors() {
        assert_eq!(StatusFilter::parse("200"), Some(StatusFilter::Code(200)));
        assert_eq!(StatusFilter::parse("4XX"), Some(StatusFilter::Class(4)));
        assert_eq!(StatusFilter::parse(" error "), Some(StatusFilter::Error));
        for bad in ["6xx", "0xx", "42", "700", "4x", "xx", "ok"] {
            assert_eq!(StatusFilter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parameters_are_checked_and_name_themselves() {
        let query = RecentQuery::from_params(&params(&[
            ("limit", "5"),
            ("cache", "hit"),
            ("model", "gpt-4o"),
            ("key", ""),
        ]))
        .unwrap();
        assert_eq!(query.limit, 5);
        assert_eq!(query.cache, Some(CacheStatus::Hit));
        assert_eq!(query.key, None);
        assert_eq!(
            RecentQuery::from_params(&params(&[])).unwrap().limit,
            DEFAULT_LIMIT
        );
        for (name, value) in [
            ("limit", "0"),
            ("limit", "1001"),
            ("limit", "many"),
            ("before", "yesterday"),
            ("status", "teapot"),
            ("cache", "MAYBE"),
        ] {
            let (param, message) = RecentQuery::from_params(&params(&[(name, value)])).unwrap_err();
            assert_eq!(param, name);
            assert!(message.contains(value), "{message}");
        }
    }

    #[test]
    fn conditions_number_their_values() {
        let query = RecentQuery {
            limit: 10,
            before: Some(5),
            model: Some("m".into()),
            status: Some(StatusFilter::Class(4)),
            ..RecentQuery::default()
        };
        let (condition, values) = query.condition();
        assert_eq!(
            condition,
            "WHERE time_ms < ?1 AND (model_asked = ?2 COLLATE NOCASE OR model_answered = ?2 \
             COLLATE NOCASE OR provider || '/' || model_answered = ?2 COLLATE NOCASE) AND \
             status / 100 = ?3"
        );
        assert_eq!(values.len(), 3);
    }
}
