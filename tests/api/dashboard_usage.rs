//! The dashboard's usage routes: the request history and one request's
//! detail, the chart series and the report's CSV export.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::dashboard::{ADMIN_KEY, READER_KEY, call, json_of, keyed_gateway};
use crate::mock_upstream::*;

/// Sends `body` as `key`; returns its request id and cache status.
async fn send(gateway: &Gateway, key: &str, body: &Value) -> (String, String) {
    let response = gateway
        .chat_request()
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let id = header(&response, "x-request-id");
    let cache = header(&response, "x-cache");
    response.text().await.unwrap();
    (id, cache)
}

/// A miss and its hit as the admin (entries are per key), a streamed miss
/// as the reader, and a request for a model nobody serves (unknown provider
/// prefix) — in that order.
async fn four_requests(gateway: &Gateway) -> Vec<String> {
    let mut ids = Vec::new();
    let plain = chat_body("gpt-4.1", false);
    ids.push(send(gateway, ADMIN_KEY, &plain).await.0);
    gateway.cache_written().await;
    let (hit, cache) = send(gateway, ADMIN_KEY, &plain).await;
    assert_eq!(cache, "HIT");
    ids.push(hit);
    ids.push(
        send(gateway, READER_KEY, &chat_body("gpt-4.1", true))
            .await
            .0,
    );
    ids.push(
        send(gateway, ADMIN_KEY, &chat_body("nowhere/model", false))
            .await
            .0,
    );
    wait_for_rows(gateway, ids.len()).await;
    ids
}

/// Polls `/api/requests` until it lists `count` requests: a record is
/// written when a response ends, just after its client has it.
async fn wait_for_rows(gateway: &Gateway, count: usize) {
    tokio::time::timeout(PATIENCE, async {
        while get_json(gateway, "/api/requests").await["requests"]
            .as_array()
            .map_or(0, Vec::len)
            < count
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the requests were recorded in time");
}

async fn get_json(gateway: &Gateway, path: &str) -> Value {
    json_of(
        call(gateway, Method::GET, path, Some(READER_KEY))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

/// The requests a series counts over all its steps.
pub fn requests_in(series: &Value) -> u64 {
    series["total"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

fn ids_of(listing: &Value) -> Vec<&str> {
    listing["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["request_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn requests_are_listed_newest_first_filtered_and_shown_one_by_one() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let ids = four_requests(&gateway).await;

    let all = get_json(&gateway, "/api/requests").await;
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(ids_of(&all), newest_first);
    let rows = all["requests"].as_array().unwrap();
    let refused = &rows[0];
    assert_eq!(refused["status"], 404, "{refused}");
    assert_eq!(refused["error"], "model_not_found", "{refused}");
    let miss = &rows[3];
    assert_eq!(miss["endpoint"], "chat/completions");
    assert_eq!(miss["key_name"], "root");
    assert_eq!(miss["provider"], "openai");
    assert_eq!(miss["model_asked"], "gpt-4.1");
    assert_eq!(miss["cache"], "MISS");
    assert_eq!(miss["stream"], false);
    assert_eq!(miss["status"], 200);
    assert!(
        miss["prompt_tokens"].is_u64() && miss["total_ms"].is_f64(),
        "{miss}"
    );
    assert_eq!(miss["cache_key"].as_str().unwrap().len(), 64);
    assert_eq!(rows[1]["stream"], true);
    assert_eq!(rows[1]["key_name"], "bob");
    assert_eq!(rows[2]["cache"], "HIT");
    assert_eq!(rows[2]["cache_key"], miss["cache_key"]);
    let text = all.to_string();
    assert!(!text.contains(ADMIN_KEY) && !text.contains(READER_KEY));

    let filtered = |query: &str| format!("/api/requests?{query}");
    let hits = get_json(&gateway, &filtered("cache=HIT")).await;
    assert_eq!(ids_of(&hits), [ids[1].as_str()]);
    let bobs = get_json(&gateway, &filtered("key=bob")).await;
    assert_eq!(ids_of(&bobs), [ids[2].as_str()]);
    let errors = get_json(&gateway, &filtered("status=4xx")).await;
    assert_eq!(ids_of(&errors), [ids[3].as_str()]);
    let two = get_json(&gateway, &filtered("limit=2&model=GPT-4.1")).await;
    assert_eq!(ids_of(&two), [ids[2].as_str(), ids[1].as_str()]);
    let before = rows[1]["time_ms"].as_i64().unwrap();
    let older = get_json(&gateway, &filtered(&format!("before={before}"))).await;
    assert!(!ids_of(&older).contains(&ids[2].as_str()));

    let one = get_json(&gateway, &format!("/api/requests/{}", ids[0])).await;
    assert_eq!(one["request"], rows[3]);
    assert_eq!(one["log"]["request_id"], ids[0].as_str());
    assert_eq!(one["log"]["path"], "/v1/chat/completions");
    assert_eq!(one["log"]["cache"], "MISS");
    let missing = call(
        &gateway,
        Method::GET,
        "/api/requests/no-such-id",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    expect_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn series_chart_the_window_and_the_report_exports_as_csv() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    four_requests(&gateway).await;

    let series = get_json(&gateway, "/api/stats/series?since=1h").await;
    assert_eq!(series["step_ms"], 60_000);
    let steps = series["buckets"].as_array().unwrap().len();
    assert!((60..=61).contains(&steps), "{steps}");
    assert_eq!(requests_in(&series), 4);
    let models = series["models"].as_array().unwrap();
    assert!(
        models
            .iter()
            .all(|m| m["requests"].as_array().unwrap().len() == steps)
    );
    assert!(
        models
            .iter()
            .any(|m| m["model"].as_str().unwrap().starts_with("openai/"))
    );
    let hit_rates: Vec<f64> = series["total"]["hit_rate"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert!(!hit_rates.is_empty() && hit_rates.iter().all(|r| (0.0..=1.0).contains(r)));
    assert_eq!(series["providers"][0]["provider"], "openai");
    assert_eq!(series["errors"][0]["status"], 404);
    assert_eq!(series["errors"][0]["error"], "model_not_found");
    assert_eq!(series["errors"][0]["count"], 1);

    let csv = call(
        &gateway,
        Method::GET,
        "/api/stats?since=1h&by=key&format=csv",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(header(&csv, "content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header(&csv, "content-disposition"),
        "attachment; filename=\"llm-bridge-stats-key.csv\""
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("group,requests,hits,hit_rate,errors,"),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("root,3,1,")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("bob,1,0,0,")), "{text}");
    assert!(lines.last().unwrap().starts_with("total,4,1,"), "{text}");
    let as_json = get_json(&gateway, "/api/stats?since=1h&by=key&format=json").await;
    assert_eq!(as_json["total"]["requests"], 4);
    assert_eq!(as_json["by"], "key");
}

#[tokio::test]
async fn bad_usage_parameters_are_named() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    for (path, param) in [
        ("/api/requests?limit=0", "limit"),
        ("/api/requests?limit=1001", "limit"),
        ("/api/requests?limit=many", "limit"),
        ("/api/requests?before=yesterday", "before"),
        ("/api/requests?status=teapot", "status"),
        ("/api/requests?status=6xx", "status"),
        ("/api/requests?cache=MAYBE", "cache"),
        ("/api/stats/series?since=soon", "since"),
        ("/api/stats/series?until=later", "until"),
        (
            "/api/stats/series?since=2026-11-02&until=2026-11-01",
            "since",
        ),
        ("/api/stats/series?since=1h&step=1y", "step"),
        ("/api/stats/series?since=30d&step=1s", "step"),
        ("/api/stats?format=xml", "format"),
        ("/api/stats?by=week", "by"),
    ] {
        let response = call(&gateway, Method::GET, path, Some(READER_KEY))
            .send()
            .await
            .unwrap();
        let body = expect_error(response, 400, "invalid_parameter").await;
        assert_eq!(body["error"]["param"], json!(param), "{path}: {body}");
    }
}
