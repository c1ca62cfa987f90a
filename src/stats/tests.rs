//! The store and the reports together, on real database files.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::store::Tuning;
use super::*;
use crate::usage::{CacheStatus, UsageRecord};

mod migration;
mod rows;

/// 2026-11-01T00:00:00Z.
const DAY_ONE: i64 = 1_793_491_200_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// Long enough that the fixed dates above are never pruned.
const KEEP_ALL: Duration = Duration::from_secs(100 * 365 * 86_400);

fn record(time_ms: i64, key: Option<&str>, provider: &str, model: &str) -> UsageRecord {
    UsageRecord {
        time_ms,
        request_id: format!("req-{time_ms}"),
        key_name: key.map(str::to_string),
        provider: Some(provider.to_string()),
        model_asked: Some(model.to_string()),
        model_answered: Some(model.to_string()),
        cache: Some(CacheStatus::Miss),
        status: 200,
        total_ms: 1.0,
        ..UsageRecord::default()
    }
}

/// Five requests over two days; see the expected figures in the tests.
fn seed() -> Vec<UsageRecord> {
    let tokens = |r: &mut UsageRecord, p, c, cached| {
        r.prompt_tokens = Some(p);
        r.completion_tokens = Some(c);
        r.cached_tokens = Some(cached);
    };
    let mut miss = record(
        DAY_ONE + 10 * HOUR,
        Some("alice"),
        "deepseek",
        "deepseek-chat",
    );
    tokens(&mut miss, 100, 50, 0);
    miss.cache_write_1h_tokens = Some(10);
    miss.provider_cache_saved_usd = Some(0.0);
    miss.cost_usd = Some(0.001);
    miss.ttfb_ms = Some(100.0);
    miss.total_ms = 1000.0;
    let mut hit = record(
        DAY_ONE + 11 * HOUR,
        Some("alice"),
        "deepseek",
        "deepseek-chat",
    );
    tokens(&mut hit, 100, 50, 0);
    hit.cache = Some(CacheStatus::Hit);
    hit.cost_usd = Some(0.0);
    hit.cost_saved_usd = Some(0.001);
    hit.ttfb_ms = Some(5.0);
    hit.total_ms = 10.0;
    let mut openai = record(DAY_ONE + DAY + 9 * HOUR, Some("bob"), "openai", "gpt-4.1");
    openai.model_answered = Some("gpt-4.1-2025-04-14".into());
    openai.stream = true;
    tokens(&mut openai, 200, 100, 80);
    openai.cache_write_tokens = Some(20);
    openai.reasoning_tokens = Some(30);
    openai.provider_cache_saved_usd = Some(0.00012);
    openai.cost_usd = Some(0.002);
    openai.ttfb_ms = Some(300.0);
    openai.total_ms = 3000.0;
    let mut failed = record(DAY_ONE + DAY + 10 * HOUR, Some("bob"), "openai", "gpt-4.1");
    failed.model_answered = None;
    failed.cache = None;
    failed.status = 502;
    failed.total_ms = 50.0;
    let mut estimated = record(DAY_ONE + DAY + 12 * HOUR, None, "deepseek", "deepseek-chat");
    estimated.cache = Some(CacheStatus::Bypass);
    tokens(&mut estimated, 10, 5, 0);
    estimated.estimated = true;
    estimated.cost_usd = Some(0.0002);
    estimated.ttfb_ms = Some(50.0);
    estimated.total_ms = 500.0;
    vec![miss, hit, openai, failed, estimated]
}

fn seeded(dir: &Path) {
    let (store, guard) = UsageStore::open(dir, KEEP_ALL).unwrap();
    for r in seed() {
        store.record(r);
    }
    drop(guard);
    assert_eq!(store.written(), 5);
    assert_eq!(store.dropped(), 0);
}

fn by(group: Option<GroupBy>) -> StatsQuery {
    StatsQuery {
        by: group,
        ..StatsQuery::default()
    }
}

fn groups(report: &StatsReport) -> Vec<(&str, u64, Option<f64>)> {
    report
        .rows
        .iter()
        .map(|r| (r.group.as_deref().unwrap_or(""), r.requests, r.cost_usd))
        .collect()
}

#[test]
fn records_come_back_as_sums_groups_and_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());

    let report = report(dir.path(), &by(None)).unwrap();
    assert!(report.rows.is_empty());
    assert_eq!(report.note, None);
    assert_eq!(
        report.total,
        StatsRow {
            group: None,
            requests: 5,
            hits: 1,
            hit_rate: 0.2,
            errors: 1,
            prompt_tokens: 410,
            completion_tokens: 205,
            cached_tokens: 80,
            cache_write_tokens: 20,
            cache_write_1h_tokens: 10,
            reasoning_tokens: 30,
            estimated_requests: 1,
            cost_usd: Some(0.0032),
            cost_unknown_requests: 1,
            cost_saved_usd: 0.001,
            provider_cache_saved_usd: 0.00012,
            latency_p50_ms: Some(500.0),
            latency_p95_ms: Some(3000.0),
            ttfb_p50_ms: Some(50.0),
        }
    );

    let models = report_by(dir.path(), GroupBy::Model);
    assert_eq!(
        groups(&models),
        [
            ("openai/gpt-4.1-2025-04-14", 1, Some(0.002)),
            ("deepseek/deepseek-chat", 3, Some(0.0012)),
            // Nothing answered: grouped by the model asked.
            ("openai/gpt-4.1", 1, None),
        ]
    );
    let deepseek = &models.rows[1];
    assert_eq!((deepseek.hits, deepseek.errors), (1, 0));
    assert!((deepseek.hit_rate - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(deepseek.latency_p50_ms, Some(500.0));
    assert_eq!(deepseek.latency_p95_ms, Some(1000.0));
    assert_eq!(models.rows[2].cost_unknown_requests, 1);
    assert_eq!(models.total, report.total);

    assert_eq!(
        groups(&report_by(dir.path(), GroupBy::Key)),
        [
            ("bob", 2, Some(0.002)),
            ("alice", 2, Some(0.001)),
            ("(none)", 1, Some(0.0002)),
        ]
    );
    assert_eq!(
        groups(&report_by(dir.path(), GroupBy::Provider)),
        [("openai", 2, Some(0.002)), ("deepseek", 3, Some(0.0012))]
    );
    assert_eq!(
        groups(&report_by(dir.path(), GroupBy::Day)),
        [
            ("2026-11-01", 2, Some(0.001)),
            ("2026-11-02", 3, Some(0.0022))
        ]
    );
}

fn report_by(dir: &Path, group: GroupBy) -> StatsReport {
    report(dir, &by(Some(group))).unwrap()
}

#[test]
fn windows_include_since_and_exclude_until() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let window = |since, until| {
        let query = StatsQuery {
            since,
            until,
            by: None,
        };
        report(dir.path(), &query).unwrap()
    };
    assert_eq!(window(Some(DAY_ONE + DAY), None).total.requests, 3);
    assert_eq!(window(None, Some(DAY_ONE + DAY)).total.requests, 2);
    // The first request's exact time is in; the second's is out.
    let exact = window(Some(DAY_ONE + 10 * HOUR), Some(DAY_ONE + 11 * HOUR));
    assert_eq!(exact.total.requests, 1);
    let empty = window(Some(DAY_ONE + 3 * DAY), None);
    assert_eq!(empty.total.requests, 0);
    assert_eq!(empty.total.cost_usd, None);
    assert_eq!(empty.total.latency_p50_ms, None);
    assert_eq!(
        empty.note.as_deref(),
        Some("no requests in this time window")
    );
}

#[test]
fn a_folder_without_a_database_is_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("never-created");
    let report = report(&missing, &by(Some(GroupBy::Model))).unwrap();
    assert!(report.rows.is_empty());
    assert_eq!(report.total.requests, 0);
    let note = report.note.unwrap();
    assert!(note.starts_with("no statistics yet in "), "{note}");
    assert!(note.contains("never-created"), "{note}");
    assert!(!missing.exists(), "a report creates nothing");
}

#[test]
fn the_database_file_itself_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let file = dir.path().join(DATABASE_FILE);
    assert_eq!(report(&file, &by(None)).unwrap().total.requests, 5);
}

#[test]
fn retention_deletes_old_rows_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let now = store::now_ms();
    let (store, guard) = UsageStore::open(dir.path(), KEEP_ALL).unwrap();
    store.record(record(now - 10 * DAY, None, "openai", "old"));
    store.record(record(now - 2 * DAY, None, "openai", "recent"));
    store.record(record(now, None, "openai", "now"));
    drop(guard);
    assert_eq!(report(dir.path(), &by(None)).unwrap().total.requests, 3);

    let (_store, guard) = UsageStore::open(dir.path(), Duration::from_secs(3 * 86_400)).unwrap();
    drop(guard);
    let kept = report_by(dir.path(), GroupBy::Model);
    let mut names: Vec<_> = kept.rows.iter().filter_map(|r| r.group.clone()).collect();
    names.sort();
    assert_eq!(names, ["openai/now", "openai/recent"]);
}

#[test]
fn a_full_channel_drops_and_counts_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let tuning = Tuning {
        capacity: 1,
        batch_max: 1,
        busy_timeout: Duration::from_secs(30),
        ..Tuning::default()
    };
    let (store, guard) = UsageStore::open_tuned(dir.path(), KEEP_ALL, tuning).unwrap();
    // Another connection holds the write lock, so the writer is stuck on
    // its first write while the test keeps recording.
    let blocker = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let mut sent = 0u64;
    let mut slowest = Duration::ZERO;
    while store.dropped() < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing dropped"
        );
        let before = Instant::now();
        store.record(record(DAY_ONE + sent as i64, None, "openai", "m"));
        slowest = slowest.max(before.elapsed());
        sent += 1;
        std::thread::yield_now();
    }
    assert!(
        slowest < Duration::from_millis(100),
        "record waited {slowest:?}"
    );
    blocker.execute_batch("COMMIT").unwrap();
    drop(guard);
    let dropped = store.dropped();
    assert_eq!(store.written(), sent - dropped);
    assert_eq!(
        report(dir.path(), &by(None)).unwrap().total.requests,
        sent - dropped
    );
}

#[test]
fn dropping_the_guard_writes_out_queued_records() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing would be written for an hour but for the guard.
    let tuning = Tuning {
        batch_max: 100_000,
        flush_interval: Duration::from_secs(3600),
        ..Tuning::default()
    };
    let (store, guard) = UsageStore::open_tuned(dir.path(), KEEP_ALL, tuning).unwrap();
    for i in 0..1000 {
        store.record(record(DAY_ONE + i, Some("k"), "openai", "m"));
    }
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(report(dir.path(), &by(None)).unwrap().total.requests, 1000);
    // After shutdown records are refused quietly.
    store.record(record(DAY_ONE, None, "openai", "m"));
    assert_eq!(store.written(), 1000);
}

#[test]
fn a_failed_write_is_counted_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (store, guard) = UsageStore::open(dir.path(), KEEP_ALL).unwrap();
    let other = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    other
        .execute_batch("ALTER TABLE requests RENAME TO moved")
        .unwrap();
    store.record(record(DAY_ONE, None, "openai", "lost"));
    let started = Instant::now();
    while store.write_failures() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "no failure");
        std::thread::sleep(Duration::from_millis(10));
    }
    other
        .execute_batch("ALTER TABLE moved RENAME TO requests")
        .unwrap();
    store.record(record(DAY_ONE, None, "openai", "kept"));
    drop(guard);
    assert_eq!((store.write_failures(), store.written()), (1, 1));
    let kept = report_by(dir.path(), GroupBy::Model);
    assert_eq!(groups(&kept), [("openai/kept", 1, None)]);
}

#[test]
fn open_errors_name_the_path_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let error = UsageStore::open(&file, KEEP_ALL).unwrap_err().to_string();
    assert!(
        error.starts_with("cannot create the statistics folder ") && error.contains("not-a-folder"),
        "{error}"
    );

    let newer = dir.path().join("newer");
    std::fs::create_dir(&newer).unwrap();
    Connection::open(newer.join(DATABASE_FILE))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = UsageStore::open(&newer, KEEP_ALL).unwrap_err().to_string();
    assert!(
        error.contains("usage.sqlite3") && error.contains("schema version 99"),
        "{error}"
    );
}

#[test]
fn the_schema_is_versioned_and_reopening_keeps_rows() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    seeded(dir.path());
    let connection = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, store::SCHEMA_VERSION);
    let mode: String = connection
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(report(dir.path(), &by(None)).unwrap().total.requests, 10);
}

/// Figures for the README, measured by hand:
/// `cargo test --release --lib stats::tests::figures -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn figures() {
    const ROWS: i64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let tuning = Tuning {
        capacity: 200_000,
        ..Tuning::default()
    };
    let (store, guard) = UsageStore::open_tuned(dir.path(), KEEP_ALL, tuning).unwrap();
    let models = ["gpt-4.1", "deepseek-chat", "qwen-plus", "gemini-2.5-flash"];
    let started = Instant::now();
    for i in 0..ROWS {
        let model = models[(i % 4) as usize];
        let mut r = record(DAY_ONE + i * 60_000, Some("alice"), "openai", model);
        r.prompt_tokens = Some(1000);
        r.completion_tokens = Some(200);
        r.cost_usd = Some(0.001);
        r.ttfb_ms = Some((i % 997) as f64);
        r.total_ms = (i % 7919) as f64;
        store.record(r);
    }
    let queued = started.elapsed();
    drop(guard);
    let written = started.elapsed();
    assert_eq!(store.written(), ROWS as u64);
    println!(
        "{ROWS} records: queued in {queued:?}, written in {written:?} ({:.0} records/s)",
        ROWS as f64 / written.as_secs_f64()
    );
    for group in [None, Some(GroupBy::Model), Some(GroupBy::Day)] {
        let started = Instant::now();
        let report = report(dir.path(), &by(group)).unwrap();
        println!(
            "report by {group:?} over {} rows: {:?}",
            report.total.requests,
            started.elapsed()
        );
    }
    let size = std::fs::metadata(dir.path().join(DATABASE_FILE))
        .unwrap()
        .len();
    println!("database: {} bytes ({} per row)", size, size / ROWS as u64);
}

#[test]
fn reports_read_while_the_store_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, guard) = UsageStore::open(dir.path(), KEEP_ALL).unwrap();
    for round in 1..=2u64 {
        store.record(record(DAY_ONE, None, "openai", "m"));
        let started = Instant::now();
        while store.written() < round {
            assert!(started.elapsed() < Duration::from_secs(10), "not written");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(report(dir.path(), &by(None)).unwrap().total.requests, round);
    }
    drop(guard);
}
