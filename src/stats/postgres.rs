//! The usage ledger in PostgreSQL (`[stats] url`): every instance writes
//! its rows to one `requests` table, with the same columns as
//! `usage.sqlite3` plus `instance`, and every report reads them all.
//!
//! Writing: the usage store's one writer thread, one transaction per batch
//! (as with SQLite), reconnecting after a failure. Reading: a report copies
//! the rows it needs (its window; a lookup's one id) from PostgreSQL into
//! an in-memory SQLite table and runs there, so both ledgers give the same
//! figures by the same code. Booleans are kept as 0/1 integers, like
//! SQLite's.

use std::path::Path;

use postgres::{Client, NoTls};
use rusqlite::types::Value;

use super::StatsError;
use crate::usage::UsageRecord;

/// What a column holds, to copy it between the two databases.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Real,
    Text,
}

/// Every column but `id`, in the writers' order.
const COLUMNS: [(&str, Kind); 25] = [
    ("time_ms", Kind::Int),
    ("request_id", Kind::Text),
    ("key_name", Kind::Text),
    ("provider", Kind::Text),
    ("model_asked", Kind::Text),
    ("model_answered", Kind::Text),
    ("stream", Kind::Int),
    ("cache", Kind::Text),
    ("status", Kind::Int),
    ("prompt_tokens", Kind::Int),
    ("completion_tokens", Kind::Int),
    ("cached_tokens", Kind::Int),
    ("estimated", Kind::Int),
    ("cost_usd", Kind::Real),
    ("cost_saved_usd", Kind::Real),
    ("ttfb_ms", Kind::Real),
    ("total_ms", Kind::Real),
    ("cache_write_tokens", Kind::Int),
    ("cache_write_1h_tokens", Kind::Int),
    ("reasoning_tokens", Kind::Int),
    ("provider_cache_saved_usd", Kind::Real),
    ("endpoint", Kind::Text),
    ("error", Kind::Text),
    ("cache_key", Kind::Text),
    ("instance", Kind::Text),
];

fn column_list() -> String {
    COLUMNS.map(|(name, _)| name).join(", ")
}

/// Connects and makes sure the table and its indexes exist.
pub(super) fn connect(url: &str) -> Result<Client, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let columns: Vec<String> = COLUMNS
        .iter()
        .map(|(name, kind)| {
            let sql = match kind {
                Kind::Int => "BIGINT",
                Kind::Real => "DOUBLE PRECISION",
                Kind::Text => "TEXT",
            };
            format!("{name} {sql}")
        })
        .collect();
    client.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS requests (id BIGSERIAL PRIMARY KEY, {});
         CREATE INDEX IF NOT EXISTS requests_time ON requests (time_ms);
         CREATE INDEX IF NOT EXISTS requests_request_id ON requests (request_id);",
        columns.join(", ")
    ))?;
    Ok(client)
}

/// Writes `batch` in one transaction, each row tagged with `instance`.
pub(super) fn insert(
    client: &mut Client,
    batch: &[UsageRecord],
    instance: &str,
) -> Result<(), postgres::Error> {
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO requests ({}) VALUES ({})",
        column_list(),
        placeholders.join(", ")
    );
    let mut transaction = client.transaction()?;
    let statement = transaction.prepare(&sql)?;
    let count = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    for r in batch {
        transaction.execute(
            &statement,
            &[
                &r.time_ms,
                &r.request_id,
                &r.key_name,
                &r.provider,
                &r.model_asked,
                &r.model_answered,
                &i64::from(r.stream),
                &r.cache.map(|c| c.as_str()),
                &i64::from(r.status),
                &count(r.prompt_tokens),
                &count(r.completion_tokens),
                &count(r.cached_tokens),
                &i64::from(r.estimated),
                &r.cost_usd,
                &r.cost_saved_usd,
                &r.ttfb_ms,
                &r.total_ms,
                &count(r.cache_write_tokens),
                &count(r.cache_write_1h_tokens),
                &count(r.reasoning_tokens),
                &r.provider_cache_saved_usd,
                &r.endpoint,
                &r.error,
                &r.cache_key,
                &instance,
            ],
        )?;
    }
    transaction.commit()
}

/// Deletes rows before `cutoff_ms`.
pub(super) fn prune(client: &mut Client, cutoff_ms: i64) -> Result<u64, postgres::Error> {
    client.execute("DELETE FROM requests WHERE time_ms < $1", &[&cutoff_ms])
}

/// Which rows a report needs.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub request_id: Option<String>,
    /// The newest this many, when set.
    pub newest: Option<i64>,
}

/// The rows of `window` from the database at `url`, in an in-memory
/// SQLite `requests` table of the current schema.
pub(super) fn materialize(url: &str, window: &Window) -> Result<rusqlite::Connection, StatsError> {
    // The blocking client runs a runtime of its own, which it cannot start
    // on a thread of the server's (the blocking pool's included): a plain
    // thread of its own for the read.
    std::thread::scope(|scope| {
        scope
            .spawn(|| copy_rows(url, window))
            .join()
            .unwrap_or_else(|_| {
                Err(StatsError::Remote {
                    location: crate::config::secret::displayable_url(url),
                    message: "the read stopped".into(),
                })
            })
    })
}

fn copy_rows(url: &str, window: &Window) -> Result<rusqlite::Connection, StatsError> {
    let read_error = |message: String| StatsError::Remote {
        location: crate::config::secret::displayable_url(url),
        message,
    };
    let mut client = connect(url).map_err(|e| read_error(e.to_string()))?;
    let mut sql = format!(
        "SELECT {} FROM requests WHERE time_ms >= $1 AND time_ms < $2",
        column_list()
    );
    if window.request_id.is_some() {
        sql.push_str(" AND request_id = $3");
    }
    sql.push_str(" ORDER BY time_ms DESC, id DESC");
    if let Some(newest) = window.newest {
        sql.push_str(&format!(" LIMIT {newest}"));
    }
    let (since, until) = (
        window.since.unwrap_or(i64::MIN),
        window.until.unwrap_or(i64::MAX),
    );
    let rows = match &window.request_id {
        Some(id) => client.query(&sql, &[&since, &until, id]),
        None => client.query(&sql, &[&since, &until]),
    }
    .map_err(|e| read_error(e.to_string()))?;
    let local_error = |source| StatsError::Read {
        path: Path::new(":memory:").to_path_buf(),
        source,
    };
    let mut memory = rusqlite::Connection::open_in_memory().map_err(local_error)?;
    super::schema::migrate(&mut memory, Path::new(":memory:"))?;
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|n| format!("?{n}")).collect();
    let insert = format!(
        "INSERT INTO requests ({}) VALUES ({})",
        column_list(),
        placeholders.join(", ")
    );
    let transaction = memory.transaction().map_err(local_error)?;
    {
        let mut statement = transaction.prepare(&insert).map_err(local_error)?;
        // Oldest first, so `id` keeps the order rows were written in.
        for row in rows.iter().rev() {
            let values = COLUMNS.iter().enumerate().map(|(i, (_, kind))| match kind {
                Kind::Int => row
                    .try_get::<_, Option<i64>>(i)
                    .ok()
                    .flatten()
                    .map_or(Value::Null, Value::Integer),
                Kind::Real => row
                    .try_get::<_, Option<f64>>(i)
                    .ok()
                    .flatten()
                    .map_or(Value::Null, Value::Real),
                Kind::Text => row
                    .try_get::<_, Option<String>>(i)
                    .ok()
                    .flatten()
                    .map_or(Value::Null, Value::Text),
            });
            statement
                .execute(rusqlite::params_from_iter(values))
                .map_err(local_error)?;
        }
    }
    transaction.commit().map_err(local_error)?;
    Ok(memory)
}
