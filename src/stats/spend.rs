//! What each access key has spent so far today and this month, from the
//! usage database: the budgets' ledger starts from it, so a restart does
//! not give a key its budget back.

use super::StatsError;
use super::postgres::Window;
use super::query::Source;

/// `(key name, spent since day_start, spent since month_start)` in USD,
/// per key (`None` for requests without one), from requests at or after
/// `month_start` (and `day_start`), both Unix ms. Blocking.
pub fn spend_since(
    source: impl Into<Source>,
    day_start: i64,
    month_start: i64,
) -> Result<Vec<(Option<String>, f64, f64)>, StatsError> {
    let source = source.into();
    let path = source.shown();
    let since = day_start.min(month_start);
    let window = Window {
        since: Some(since),
        ..Window::default()
    };
    let Some(connection) = source.reader(&window)? else {
        return Ok(Vec::new());
    };
    let read = || -> rusqlite::Result<Vec<(Option<String>, f64, f64)>> {
        let mut statement = connection.prepare(
            "SELECT key_name, \
             total(CASE WHEN time_ms >= ?1 THEN cost_usd END), \
             total(CASE WHEN time_ms >= ?2 THEN cost_usd END) \
             FROM requests WHERE time_ms >= ?3 GROUP BY key_name",
        )?;
        let rows = statement.query_map([day_start, month_start, since], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
        rows.collect()
    };
    read().map_err(|source| StatsError::Read { path, source })
}
