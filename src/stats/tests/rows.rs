//! Single requests and chart series read back from a seeded database.

use std::collections::HashMap;

use super::{DAY, DAY_ONE, HOUR, seeded};
use crate::stats::{RecentQuery, SeriesQuery, by_request_id, recent, series};
use crate::usage::CacheStatus;

fn listed(dir: &std::path::Path, pairs: &[(&str, &str)]) -> Vec<String> {
    let params: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let query = RecentQuery::from_params(&params).unwrap();
    recent(dir, &query)
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect()
}

#[test]
fn the_newest_requests_come_first_and_filters_narrow_them() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let id = |at: i64| format!("req-{at}");
    let (miss, hit) = (id(DAY_ONE + 10 * HOUR), id(DAY_ONE + 11 * HOUR));
    let (openai, failed) = (id(DAY_ONE + DAY + 9 * HOUR), id(DAY_ONE + DAY + 10 * HOUR));
    let estimated = id(DAY_ONE + DAY + 12 * HOUR);
    let all = vec![
        estimated.clone(),
        failed.clone(),
        openai.clone(),
        hit.clone(),
        miss.clone(),
    ];
    assert_eq!(listed(dir.path(), &[]), all);
    assert_eq!(listed(dir.path(), &[("limit", "2")]), all[..2]);
    let before = (DAY_ONE + DAY + 9 * HOUR).to_string();
    assert_eq!(
        listed(dir.path(), &[("before", &before)]),
        [hit.as_str(), miss.as_str()]
    );
    assert_eq!(listed(dir.path(), &[("cache", "hit")]), [hit.as_str()]);
    assert_eq!(listed(dir.path(), &[("status", "5xx")]), [failed.as_str()]);
    assert_eq!(
        listed(dir.path(), &[("status", "error")]),
        [failed.as_str()]
    );
    assert_eq!(listed(dir.path(), &[("status", "200")]).len(), 4);
    assert_eq!(
        listed(dir.path(), &[("key", "bob")]),
        [failed.as_str(), openai.as_str()]
    );
    // The model asked, the one that answered, or provider/answered.
    assert_eq!(
        listed(dir.path(), &[("model", "GPT-4.1")]),
        [failed.as_str(), openai.as_str()]
    );
    assert_eq!(
        listed(dir.path(), &[("model", "gpt-4.1-2025-04-14")]),
        [openai.as_str()]
    );
    assert_eq!(
        listed(
            dir.path(),
            &[("model", "openai/gpt-4.1-2025-04-14"), ("key", "bob")]
        ),
        [openai.as_str()]
    );
    assert!(listed(dir.path(), &[("model", "nobody")]).is_empty());
}

#[test]
fn a_request_is_found_by_its_id_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let found = by_request_id(dir.path(), &format!("req-{}", DAY_ONE + DAY + 9 * HOUR))
        .unwrap()
        .unwrap();
    let written = super::seed().swap_remove(2);
    assert_eq!(found, written);
    assert_eq!(found.cache, Some(CacheStatus::Miss));
    assert_eq!(by_request_id(dir.path(), "req-0").unwrap(), None);
    // No database yet: nothing found, no error.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(by_request_id(empty.path(), "req-0").unwrap(), None);
    assert!(
        recent(empty.path(), &RecentQuery::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn series_cut_the_window_into_steps_per_model() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let query = SeriesQuery::from_params(
        Some(&chrono_text(DAY_ONE)),
        Some(&chrono_text(DAY_ONE + 2 * DAY)),
        Some("1d"),
        DAY_ONE + 3 * DAY,
    )
    .unwrap();
    assert_eq!((query.since, query.until), (DAY_ONE, DAY_ONE + 2 * DAY));
    let series = series(dir.path(), &query).unwrap();
    assert_eq!(series.buckets, [DAY_ONE, DAY_ONE + DAY]);
    let models: Vec<(&str, &[u64])> = series
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.requests.as_slice()))
        .collect();
    assert_eq!(
        models,
        [
            ("deepseek/deepseek-chat", &[2, 1][..]),
            ("openai/gpt-4.1", &[0, 1][..]),
            ("openai/gpt-4.1-2025-04-14", &[0, 1][..]),
        ]
    );
    assert_eq!(series.total.requests, [2, 3]);
    assert_eq!(series.total.hit_rate, [Some(0.5), Some(0.0)]);
    assert_eq!(series.total.cost_saved_usd, [0.001, 0.0]);
    assert_eq!(series.total.provider_cache_saved_usd, [0.0, 0.00012]);
    assert_eq!(series.total.cost_usd, [0.001, 0.0022]);
    // The hit is the cache's latency, not deepseek's.
    let deepseek = &series.providers[0];
    assert_eq!(
        (deepseek.provider.as_str(), deepseek.requests),
        ("deepseek", 2)
    );
    assert_eq!(deepseek.latency_p95_ms, Some(1000.0));
    assert_eq!(deepseek.ttfb_p50_ms, Some(50.0));
    assert_eq!(series.errors.len(), 1);
    assert_eq!((series.errors[0].status, series.errors[0].count), (502, 1));
}

fn chrono_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}
