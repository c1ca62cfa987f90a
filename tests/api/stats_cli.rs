//! `llm-bridge stats` run as the real binary over a data folder seeded
//! through the usage store.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use llm_bridge::stats::UsageStore;
use llm_bridge::usage::{CacheStatus, UsageRecord};
use serde_json::Value;

use crate::command::bridge;

/// 2026-11-01T00:00:00Z.
const DAY_ONE: i64 = 1_793_491_200_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const KEEP_ALL: Duration = Duration::from_secs(100 * 365 * 86_400);

const HEADER: &str = "group,requests,hits,hit_rate,errors,prompt_tokens,completion_tokens,\
    cached_tokens,cache_write_tokens,cache_write_1h_tokens,reasoning_tokens,estimated_requests,\
    cost_usd,cost_unknown_requests,cost_saved_usd,provider_cache_saved_usd,\
    latency_p50_ms,latency_p95_ms,ttfb_p50_ms";
const TOTAL: &str = "total,5,1,0.2,1,410,205,80,20,10,30,1,0.0032,1,0.001,0.00012,500,3000,50";

/// `llm-bridge stats ARGS` in `dir`, with `env` besides `PATH`.
fn stats(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    bridge(dir)
        .envs(env.iter().copied())
        .arg("stats")
        .args(args)
        .output()
        .unwrap()
}

/// Stdout of a run that must succeed.
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

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

fn with_usage(mut r: UsageRecord, tokens: (u64, u64, u64), cost: f64) -> UsageRecord {
    r.prompt_tokens = Some(tokens.0);
    r.completion_tokens = Some(tokens.1);
    r.cached_tokens = Some(tokens.2);
    r.cost_usd = Some(cost);
    r
}

fn timed(mut r: UsageRecord, ttfb: Option<f64>, total: f64) -> UsageRecord {
    r.ttfb_ms = ttfb;
    r.total_ms = total;
    r
}

/// Five requests over 2026-11-01 and 2026-11-02: a deepseek miss and its
/// hit for alice, an openai answer and an openai 502 for bob, and an
/// estimated deepseek request without a key.
fn seed(dir: &Path) {
    let (store, guard) = UsageStore::open(dir, KEEP_ALL).unwrap();
    let deepseek = |hour, key| record(DAY_ONE + hour * HOUR, key, "deepseek", "deepseek-chat");
    let miss = with_usage(deepseek(10, Some("alice")), (100, 50, 0), 0.001);
    store.record(timed(miss, Some(100.0), 1000.0));
    let mut hit = with_usage(deepseek(11, Some("alice")), (100, 50, 0), 0.0);
    hit.cache = Some(CacheStatus::Hit);
    hit.cost_saved_usd = Some(0.001);
    store.record(timed(hit, Some(5.0), 10.0));
    let bob = |hour| {
        record(
            DAY_ONE + DAY + hour * HOUR,
            Some("bob"),
            "openai",
            "gpt-4.1",
        )
    };
    let mut answered = with_usage(bob(9), (200, 100, 80), 0.002);
    answered.model_answered = Some("gpt-4.1-2025-04-14".into());
    answered.stream = true;
    answered.cache_write_tokens = Some(20);
    answered.cache_write_1h_tokens = Some(10);
    answered.reasoning_tokens = Some(30);
    answered.provider_cache_saved_usd = Some(0.00012);
    store.record(timed(answered, Some(300.0), 3000.0));
    let mut failed = timed(bob(10), None, 50.0);
    failed.model_answered = None;
    failed.cache = None;
    failed.status = 502;
    store.record(failed);
    let mut estimated = with_usage(deepseek(36, None), (10, 5, 0), 0.0002);
    estimated.cache = Some(CacheStatus::Bypass);
    estimated.estimated = true;
    store.record(timed(estimated, Some(50.0), 500.0));
    drop(guard);
    assert_eq!(store.written(), 5);
}

#[test]
fn csv_rows_match_the_seeded_records() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("data"));

    let total = ok(stats(dir.path(), &["--format", "csv"], &[]));
    assert_eq!(lines(&total), [HEADER, TOTAL]);

    let models = ok(stats(
        dir.path(),
        &["--by", "model", "--format", "csv"],
        &[],
    ));
    assert_eq!(
        lines(&models),
        [
            HEADER,
            "openai/gpt-4.1-2025-04-14,1,0,0,0,200,100,80,20,10,30,0,0.002,0,0,0.00012,3000,3000,300",
            "deepseek/deepseek-chat,3,1,0.3333333333333333,0,210,105,0,0,0,0,1,0.0012,0,0.001,0,500,1000,50",
            "openai/gpt-4.1,1,0,0,1,0,0,0,0,0,0,0,,1,0,0,50,50,",
            TOTAL,
        ]
    );

    let days = ok(stats(dir.path(), &["--by", "day", "--format", "csv"], &[]));
    assert_eq!(
        lines(&days),
        [
            HEADER,
            "2026-11-01,2,1,0.5,0,200,100,0,0,0,0,0,0.001,0,0.001,0,10,1000,5",
            "2026-11-02,3,0,0,1,210,105,80,20,10,30,1,0.0022,1,0,0.00012,500,3000,50",
            TOTAL,
        ]
    );

    let keys = ok(stats(dir.path(), &["--by", "key", "--format", "csv"], &[]));
    let names: Vec<_> = lines(&keys)
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(names, ["group", "bob", "alice", "(none)", "total"]);
}

#[test]
fn json_is_the_whole_report() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("data"));
    let text = ok(stats(
        dir.path(),
        &[
            "--by",
            "provider",
            "--format",
            "json",
            "--since",
            "2026-11-01",
        ],
        &[],
    ));
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["since_ms"], DAY_ONE);
    assert_eq!(report["until_ms"], Value::Null);
    assert_eq!(report["by"], "provider");
    assert_eq!(report["note"], Value::Null);
    let total = &report["total"];
    assert_eq!(total["group"], Value::Null);
    assert_eq!(total["requests"], 5);
    assert_eq!(total["hits"], 1);
    assert_eq!(total["hit_rate"], 0.2);
    assert_eq!(total["errors"], 1);
    assert_eq!(total["prompt_tokens"], 410);
    assert_eq!(total["completion_tokens"], 205);
    assert_eq!(total["cached_tokens"], 80);
    assert_eq!(total["estimated_requests"], 1);
    assert_eq!(total["cost_usd"], 0.0032);
    assert_eq!(total["cost_unknown_requests"], 1);
    assert_eq!(total["cost_saved_usd"], 0.001);
    assert_eq!(total["cache_write_tokens"], 20);
    assert_eq!(total["cache_write_1h_tokens"], 10);
    assert_eq!(total["reasoning_tokens"], 30);
    assert_eq!(total["provider_cache_saved_usd"], 0.00012);
    assert_eq!(total["latency_p50_ms"], 500.0);
    assert_eq!(total["latency_p95_ms"], 3000.0);
    assert_eq!(total["ttfb_p50_ms"], 50.0);
    let rows = report["rows"].as_array().unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("openai", 2), ("deepseek", 3)]);
    assert_eq!(rows[0]["cost_usd"], 0.002);
    assert_eq!(rows[1]["cost_usd"], 0.0012);
}

#[test]
fn the_table_has_aligned_columns_and_a_total() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("data"));
    let table = ok(stats(dir.path(), &["--by", "model"], &[]));
    let rows = lines(&table);
    assert!(
        rows[0].starts_with("usage from data/usage.sqlite3, the start to now, by model"),
        "{table}"
    );
    let header = rows[2];
    assert!(header.starts_with("MODEL "), "{table}");
    assert!(
        header.contains("HIT RATE") && header.ends_with("TTFB P50"),
        "{table}"
    );
    assert!(
        header.contains("CACHE WRITE") && header.contains("  SAVED  PROVIDER CACHE SAVED  "),
        "{table}"
    );
    let total = rows.iter().find(|l| l.starts_with("total")).unwrap();
    assert!(
        total.contains("$0.0032") && total.contains("20.0%"),
        "{table}"
    );
    // Both kinds of cache write together; the two savings side by side.
    let cells: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(
        cells[8..12],
        ["30", "$0.003200", "$0.001000", "$0.000120"],
        "{table}"
    );
    assert!(
        table.contains("PROVIDER CACHE SAVED is what the providers' prompt caches saved"),
        "{table}"
    );
    assert_eq!(total.len(), header.len(), "aligned:\n{table}");
    let unknown = rows
        .iter()
        .find(|l| l.starts_with("openai/gpt-4.1 "))
        .unwrap();
    assert!(unknown.contains(" ? "), "unknown cost shows as ?:\n{table}");
    assert!(
        table.contains("1 of 5 requests have no known cost"),
        "{table}"
    );
    assert!(
        table.contains("1 requests have estimated token counts"),
        "{table}"
    );
}

#[test]
fn since_and_until_narrow_the_window() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("data"));
    let requests = |args: &[&str]| {
        let mut all = vec!["--format", "csv"];
        all.extend_from_slice(args);
        let text = ok(stats(dir.path(), &all, &[]));
        let total = lines(&text).last().unwrap().to_string();
        total.split(',').nth(1).unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(requests(&["--since", "2026-11-02"]), 3);
    assert_eq!(requests(&["--until", "2026-11-02"]), 2);
    assert_eq!(
        requests(&[
            "--since",
            "2026-11-01T10:30:00Z",
            "--until",
            "2026-11-02T17:30:00+08:00"
        ]),
        2,
        "the hit at 11:00 and the answer at 09:00 UTC"
    );
    assert_eq!(requests(&["--since", "2026-12-01"]), 0);

    // Durations count back from now.
    let recent = tempfile::tempdir().unwrap();
    let (store, guard) = UsageStore::open(&recent.path().join("data"), KEEP_ALL).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    store.record(record(now - HOUR, None, "openai", "m"));
    store.record(record(now - 10 * DAY, None, "openai", "m"));
    drop(guard);
    let week = ok(stats(
        recent.path(),
        &["--since", "7d", "--format", "csv"],
        &[],
    ));
    assert!(lines(&week)[1].starts_with("total,1,"), "{week}");
}

#[test]
fn the_data_folder_comes_from_flag_environment_or_config() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("custom"));
    let total = |output| lines(&ok(output)).last().unwrap().to_string();
    let csv = ["--format", "csv"];
    let flag = stats(
        dir.path(),
        &["--format", "csv", "--data-dir", "custom"],
        &[],
    );
    assert_eq!(total(flag), TOTAL);
    let env = stats(dir.path(), &csv, &[("LLM_BRIDGE_DATA_DIR", "custom")]);
    assert_eq!(total(env), TOTAL);

    std::fs::write(
        dir.path().join("llm-bridge.toml"),
        "data_dir = \"custom\"\n",
    )
    .unwrap();
    assert_eq!(total(stats(dir.path(), &csv, &[])), TOTAL);
    // The flag wins over the config file.
    let elsewhere = stats(dir.path(), &["--data-dir", "elsewhere"], &[]);
    assert!(ok(elsewhere).contains("no statistics yet in elsewhere/usage.sqlite3"));

    std::fs::write(dir.path().join("other.toml"), "data_dir = \"custom\"\n").unwrap();
    std::fs::remove_file(dir.path().join("llm-bridge.toml")).unwrap();
    let named = stats(dir.path(), &csv, &[("LLM_BRIDGE_CONFIG", "other.toml")]);
    assert_eq!(total(named), TOTAL);
}

#[test]
fn works_while_the_store_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, guard) = UsageStore::open(&dir.path().join("data"), KEEP_ALL).unwrap();
    for round in 1..=2u64 {
        store.record(record(DAY_ONE, None, "openai", "m"));
        let started = std::time::Instant::now();
        while store.written() < round {
            assert!(started.elapsed() < Duration::from_secs(10), "not written");
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = ok(stats(dir.path(), &["--format", "csv"], &[]));
        assert!(
            lines(&text)[1].starts_with(&format!("total,{round},")),
            "{text}"
        );
    }
    drop(guard);
}

#[test]
fn an_empty_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let table = ok(stats(dir.path(), &[], &[]));
    assert!(
        table.contains("no statistics yet in data/usage.sqlite3"),
        "{table}"
    );
    assert!(!dir.path().join("data").exists(), "stats creates nothing");

    let output = stats(dir.path(), &["--format", "csv"], &[]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("no statistics yet"), "{stderr}");
    let csv = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        lines(&csv),
        [HEADER, "total,0,0,0,0,0,0,0,0,0,0,0,,0,0,0,,,"]
    );
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--by", "week"][..], "week"),
        (&["--since", "soon"][..], "soon"),
        (&["--until", "5y"][..], "unknown unit"),
        (&["--format", "xml"][..], "xml"),
    ] {
        let output = stats(dir.path(), args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_table_shows_small_latencies_with_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let (store, guard) = UsageStore::open(&dir.path().join("data"), KEEP_ALL).unwrap();
    let fast = with_usage(record(DAY_ONE, None, "openai", "fast"), (10, 5, 0), 0.002);
    store.record(timed(fast, Some(0.05), 0.42));
    let slow = with_usage(
        record(DAY_ONE + 1, None, "openai", "slow"),
        (10, 5, 0),
        0.001,
    );
    store.record(timed(slow, Some(9.996), 12.6));
    drop(guard);
    let table = ok(stats(dir.path(), &["--by", "model"], &[]));
    let rows: Vec<Vec<&str>> = lines(&table)
        .iter()
        .skip(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // MODEL … P50 MS, P95 MS, TTFB P50: below 10 ms with two decimals.
    let latencies: Vec<(&str, &[&str])> = rows.iter().map(|r| (r[0], &r[12..])).collect();
    assert_eq!(
        latencies,
        [
            ("openai/fast", &["0.42", "0.42", "0.05"][..]),
            ("openai/slow", &["13", "13", "10"][..]),
            ("total", &["0.42", "13", "0.05"][..]),
        ],
        "{table}"
    );
    let csv = ok(stats(dir.path(), &["--format", "csv"], &[]));
    assert!(lines(&csv)[1].ends_with(",0.42,12.6,0.05"), "{csv}");
}
