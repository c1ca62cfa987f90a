//! A version 1 file (as llm-bridge wrote it before the cache write,
//! reasoning and provider saving columns) opens, keeps its rows and takes
//! new ones.

use rusqlite::Connection;

use super::*;

/// The version 1 table exactly as it was written, with one row.
const VERSION_1: &str = "
CREATE TABLE requests (
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
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_key_time ON requests (key_name, time_ms);
CREATE INDEX requests_model_time ON requests (provider, model_answered, time_ms);
INSERT INTO requests (time_ms, request_id, key_name, provider, model_asked, model_answered,
    stream, cache, status, prompt_tokens, completion_tokens, cached_tokens, estimated,
    cost_usd, cost_saved_usd, ttfb_ms, total_ms)
VALUES (1793527200000, 'req-old', 'alice', 'openai', 'gpt-4.1', 'gpt-4.1', 0, 'MISS', 200,
    1000, 100, 400, 0, 0.0022, NULL, 80.0, 900.0);
PRAGMA user_version = 1;
";

fn columns(connection: &Connection) -> Vec<String> {
    let mut statement = connection
        .prepare("SELECT name FROM pragma_table_info('requests')")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_version_1_file_migrates_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    Connection::open(&path)
        .unwrap()
        .execute_batch(VERSION_1)
        .unwrap();

    let (store, guard) = UsageStore::open(dir.path(), KEEP_ALL).unwrap();
    let mut new = record(
        DAY_ONE + 20 * HOUR,
        Some("alice"),
        "anthropic",
        "claude-sonnet-4-5",
    );
    new.prompt_tokens = Some(10_000);
    new.completion_tokens = Some(1_000);
    new.cached_tokens = Some(6_000);
    new.cache_write_tokens = Some(2_000);
    new.cache_write_1h_tokens = Some(1_000);
    new.reasoning_tokens = Some(400);
    new.cost_usd = Some(0.0333);
    new.provider_cache_saved_usd = Some(0.0162);
    store.record(new);
    drop(guard);
    assert_eq!(store.written(), 1);

    let connection = Connection::open(&path).unwrap();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, store::SCHEMA_VERSION);
    let names = columns(&connection);
    for added in [
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "reasoning_tokens",
        "provider_cache_saved_usd",
    ] {
        assert!(names.iter().any(|n| n == added), "{added} in {names:?}");
    }
    // The old row is there, its new columns empty.
    let old: (i64, Option<i64>, Option<f64>) = connection
        .query_row(
            "SELECT cached_tokens, cache_write_tokens, provider_cache_saved_usd \
             FROM requests WHERE request_id = 'req-old'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(old, (400, None, None));

    let total = report(dir.path(), &by(None)).unwrap().total;
    assert_eq!(total.requests, 2);
    assert_eq!(total.prompt_tokens, 11_000);
    assert_eq!(total.cached_tokens, 6_400);
    assert_eq!(total.cache_write_tokens, 2_000);
    assert_eq!(total.cache_write_1h_tokens, 1_000);
    assert_eq!(total.reasoning_tokens, 400);
    assert_eq!(total.cost_usd, Some(0.0355));
    assert_eq!(total.provider_cache_saved_usd, 0.0162);

    // Opening it again migrates nothing twice.
    let (_store, guard) = UsageStore::open(dir.path(), KEEP_ALL).unwrap();
    drop(guard);
    assert_eq!(report(dir.path(), &by(None)).unwrap().total.requests, 2);
}
