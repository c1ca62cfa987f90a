//! The live feed's event for one finished request: its row (the usage
//! record's fields, or the log line's for a request that has no record) and
//! its request-log line, as one line of JSON. Built only when somebody
//! watches ([`crate::admin::live::LiveFeed::publish`]).

use serde_json::{Value, json};

use crate::request_log::Record;
use crate::usage::{UsageRecord, endpoint_of};

/// Whether a finished request belongs in the feed: the dashboard's own
/// calls would only show the dashboard watching itself.
pub fn shown(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/ui" || path.starts_with("/ui/"))
}

/// The log line as a JSON value (kept until the usage record is ready).
pub fn log_value(line: &Record<'_>) -> Value {
    serde_json::to_value(line).unwrap_or(Value::Null)
}

/// `{"request": row, "log": line}`: the row is the usage record as
/// `/api/requests` gives it, or for a request without one (models, health,
/// a refused request) the same fields from the log line.
pub fn event(log: &Value, arrived_ms: i64, record: Option<&UsageRecord>) -> String {
    let row = match record {
        Some(record) => serde_json::to_value(record).unwrap_or(Value::Null),
        None => row_of_log(log, arrived_ms),
    };
    json!({ "request": row, "log": log }).to_string()
}

fn row_of_log(log: &Value, arrived_ms: i64) -> Value {
    let text = |name: &str| log.get(name).cloned().unwrap_or(Value::Null);
    let path = log.get("path").and_then(Value::as_str).unwrap_or("");
    json!({
        "time_ms": arrived_ms,
        "request_id": text("request_id"),
        "key_name": text("key_id"),
        "endpoint": endpoint_of(path),
        "provider": text("provider"),
        "model_asked": text("model"),
        "model_answered": text("upstream_model"),
        "stream": text("stream"),
        "cache": text("cache"),
        "cache_key": text("cache_key"),
        "status": text("status"),
        "error": text("error"),
        "estimated": text("estimated"),
        "ttfb_ms": text("ttfb_ms"),
        "total_ms": text("total_ms"),
    })
}

#[cfg(test)]
mod tests {
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
        let log = json!({"request_id": "r1", "path": "/v1/models", "status": 200, "total_ms": 1.5});
        let event: Value = serde_json::from_str(&event(&log, 7, None)).unwrap();
        assert_eq!(event["request"]["endpoint"], "models");
        assert_eq!(event["request"]["time_ms"], 7);
        assert_eq!(event["request"]["cost_usd"], Value::Null);
        assert_eq!(event["log"], log);
    }
}
