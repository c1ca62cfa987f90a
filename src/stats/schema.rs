//! The usage database's schema and its migrations: each version's changes,
//! applied in order inside one transaction to a file of an older version,
//! so a file written by an earlier llm-bridge keeps its rows.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StatsError;

/// The schema this build writes, kept in SQLite's `user_version` so a
/// later build can tell which migrations a file needs. Version 2 added the
/// cache write, reasoning and provider cache saving columns; version 3 the
/// route, error code and cache key the dashboard shows for each request;
/// version 4 the instance that served it.
pub const SCHEMA_VERSION: i64 = 4;

/// Version 1: the table and its indexes. A new file gets it and then every
/// later version's changes, so new and migrated files end up the same.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id                INTEGER PRIMARY KEY,
    time_ms           INTEGER NOT NULL,
    request_id        TEXT NOT NULL,
    key_name          TEXT,
    provider          TEXT,
    model_asked       TEXT,
    model_answered    TEXT,
    stream            INTEGER NOT NULL,
    cache             TEXT,
    status            INTEGER NOT NULL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    cached_tokens     INTEGER,
    estimated         INTEGER NOT NULL,
    cost_usd          REAL,
    cost_saved_usd    REAL,
    ttfb_ms           REAL,
    total_ms          REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time_ms);
CREATE INDEX IF NOT EXISTS requests_key_time ON requests (key_name, time_ms);
CREATE INDEX IF NOT EXISTS requests_model_time
    ON requests (provider, model_answered, time_ms);
";

/// Version 2: the token counts and the saving the prompt caches of
/// providers brought. Rows written before have them `NULL`, which reports
/// read as 0.
const SCHEMA_V2: &str = "
ALTER TABLE requests ADD COLUMN cache_write_tokens INTEGER;
ALTER TABLE requests ADD COLUMN cache_write_1h_tokens INTEGER;
ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE requests ADD COLUMN provider_cache_saved_usd REAL;
";

/// Version 3: what the dashboard's request list shows and looks rows up
/// by. Rows written before have them `NULL` (the route shows as unknown).
const SCHEMA_V3: &str = "
ALTER TABLE requests ADD COLUMN endpoint TEXT;
ALTER TABLE requests ADD COLUMN error TEXT;
ALTER TABLE requests ADD COLUMN cache_key TEXT;
CREATE INDEX IF NOT EXISTS requests_request_id ON requests (request_id);
";

/// Version 4: the instance (`[stats] instance`) that served the request,
/// so one ledger can hold several instances' rows (PostgreSQL's does).
const SCHEMA_V4: &str = "ALTER TABLE requests ADD COLUMN instance TEXT;";

/// Each version's changes, by the version they bring a file to.
const MIGRATIONS: [(i64, &str); 4] = [(1, SCHEMA), (2, SCHEMA_V2), (3, SCHEMA_V3), (4, SCHEMA_V4)];

/// Brings the schema to [`SCHEMA_VERSION`], applying each version's changes
/// past the file's. The version is read and every change made inside one
/// write transaction, so two processes opening an old or new file at once
/// migrate it once, and a failed migration leaves the file as it was.
pub(super) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StatsError> {
    let open_error = |source| StatsError::Open {
        path: path.to_path_buf(),
        source,
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_error)?;
    let found: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(open_error)?;
    if found > SCHEMA_VERSION {
        return Err(StatsError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        for (_, changes) in MIGRATIONS.iter().filter(|(version, _)| *version > found) {
            transaction.execute_batch(changes).map_err(open_error)?;
        }
        transaction
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_error)?;
    }
    transaction.commit().map_err(open_error)
}
