//! The live feed's event for one finished request: its row (the usage
//! record, or for a request that has none the same fields from its log
//! line) and its request-log line, as one line of JSON. Built only when
//! somebody watches ([`crate::admin::live::LiveFeed::publish`]), by
//! serializing the structs straight to text (no JSON tree) around the log
//! line the request log already serialized: a busy gateway builds one per
//! request.

use serde::Serialize;

use crate::request_log::Record;
use crate::usage::{UsageRecord, endpoint_of};

/// Whether a finished request belongs in the feed: the dashboard's own
/// calls would only show the dashboard watching itself.
pub fn shown(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/ui" || path.starts_with("/ui/"))
}

/// `{"request": row, "log": line}` from a row and a log line already in
/// JSON.
pub fn event(row_json: &str, log_json: &str) -> String {
    let mut event = String::with_capacity(row_json.len() + log_json.len() + 20);
    event.push_str("{\"request\":");
    event.push_str(row_json);
    event.push_str(",\"log\":");
    event.push_str(log_json);
    event.push('}');
    event
}

/// The row of a request with a usage record: the record as
/// `/api/requests` gives it.
pub fn record_row(record: &UsageRecord) -> String {
    serde_json::to_string(record).unwrap_or_else(|_| "null".into())
}

/// The row of a request without a usage record (models, health, a refused
/// request): the record's fields its log line has.
pub fn log_row(line: &Record<'_>, arrived_ms: i64) -> String {
    let row = LogRow {
        time_ms: arrived_ms,
        request_id: line.request_id,
        key_name: line.key_id,
        endpoint: endpoint_of(line.path),
        provider: line.provider,
        model_asked: line.model,
        model_answered: line.upstream_model,
        stream: line.stream,
        cache: line.cache,
        cache_key: line.cache_key,
        status: line.status,
        error: line.error,
        estimated: line.estimated,
        ttfb_ms: line.ttfb_ms,
        total_ms: line.total_ms,
    };
    serde_json::to_string(&row).unwrap_or_else(|_| "null".into())
}

#[derive(Serialize)]
struct LogRow<'a> {
    time_ms: i64,
    request_id: &'a str,
    key_name: Option<&'a str>,
    endpoint: &'a str,
    provider: Option<&'a str>,
    model_asked: Option<&'a str>,
    model_answered: Option<&'a str>,
    stream: Option<bool>,
    cache: Option<&'a str>,
    cache_key: Option<&'a str>,
    status: u16,
    error: Option<&'a str>,
    estimated: bool,
    ttfb_ms: Option<f64>,
    total_ms: f64,
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_dashboards_own_calls_are_not_shown() {
        for path in ["/api/live", "/api/stats", "/ui", "/ui/app.js"] {
            assert!(!shown(path), "{path}");
        }
        for path in ["/v1/chat/completions", "/messages", "/health", "/uix"] {
            assert!(shown(path), "{path}");
        }
    }

    #[test]
    fn a_request_without_a_record_is_its_log_line() {
        let line = Record {
            time: "2026-12-03T06:00:00.000Z".into(),
            request_id: "r1",
            method: "GET",
            path: "/v1/models",
            key_id: None,
            model: None,
            provider: None,
            upstream_model: None,
            stream: None,
            cache: None,
            cache_key: None,
            status: 200,
            error: None,
            outcome: "complete",
            ttfb_ms: Some(1.0),
            total_ms: 1.5,
            bytes: 10,
            estimated: false,
            request_body: None,
            response_body: None,
        };
        let log = serde_json::to_string(&line).unwrap();
        let event: Value = serde_json::from_str(&event(&log_row(&line, 7), &log)).unwrap();
        assert_eq!(event["request"]["endpoint"], "models");
        assert_eq!(event["request"]["time_ms"], 7);
        assert_eq!(event["request"]["request_id"], "r1");
        assert_eq!(event["log"], serde_json::from_str::<Value>(&log).unwrap());
    }

    #[test]
    fn a_request_with_a_record_is_the_record() {
        let record = UsageRecord {
            request_id: "r2".into(),
            endpoint: "messages".into(),
            cost_usd: Some(0.5),
            ..UsageRecord::default()
        };
        let event: Value = serde_json::from_str(&event(&record_row(&record), "{}")).unwrap();
        assert_eq!(event["request"], serde_json::to_value(&record).unwrap());
    }
}
