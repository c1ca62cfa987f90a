//! Token usage per request: taken from the upstream (asking a stream for it
//! and keeping the extra chunk from clients that did not ask), estimated
//! when missing, priced, recorded as savings on hits; the records reach the
//! store, `stats`, `/api/stats` and `/metrics`, and a stuck store never
//! holds up an answer.

use axum::http::StatusCode;
use llm_bridge::stats::query::{GroupBy, StatsQuery, report};
use serde_json::{Value, json};

use crate::command::run;
use crate::common::*;
use crate::mock_upstream::*;

mod prompt_caches;

/// A streamed answer the way OpenAI sends it with `include_usage`: content
/// chunks with `usage: null`, then one chunk with empty `choices` and the
/// usage.
fn stream_with_usage_chunk(model: &str, prompt: u64, completion: u64) -> Vec<String> {
    let chunk = |choices: Value, usage: Value| {
        sse_event(&json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
            "model": model, "choices": choices, "usage": usage,
        }))
    };
    vec![
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            Value::Null,
        ),
        chunk(
            json!([]),
            json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}),
        ),
        SSE_DONE.to_string(),
    ]
}

/// Every usage record, oldest first, after stopping the gateway (which
/// writes out the queued records), read straight from the database.
async fn recorded(mut gateway: Gateway) -> Vec<Value> {
    gateway.stop().await;
    let db = rusqlite::Connection::open(gateway.data_dir.join("usage.sqlite3")).unwrap();
    let mut statement = db.prepare("SELECT * FROM requests ORDER BY rowid").unwrap();
    let names: Vec<String> = statement.column_names().map(str::to_string).collect();
    statement
        .query_map([], |row| {
            let mut record = serde_json::Map::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    // SQLite keeps flags as 0 and 1.
                    rusqlite::types::ValueRef::Integer(n)
                        if name == "estimated" || name == "stream" =>
                    {
                        json!(n != 0)
                    }
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Real(x) => json!(x),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                };
                record.insert(name.clone(), value);
            }
            Ok(Value::Object(record))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_stream_is_asked_for_usage_and_the_client_gets_exactly_what_it_asked_for() {
    let mock = MockUpstream::start().await;
    let events = stream_with_usage_chunk("gpt-4.1", 11, 7);
    mock.push_reply(Reply::Sse(events.clone()));
    let gateway = Setup::on(&mock).start().await;

    let response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    let text = read_text(response).await;
    assert_eq!(
        text,
        [events[0].clone(), events[1].clone(), events[3].clone()].concat(),
        "the usage chunk the client did not ask for is left out"
    );
    let sent = mock.single().json();
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));

    let records = recorded(gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["prompt_tokens"], 11);
    assert_eq!(records[0]["completion_tokens"], 7);
    assert_eq!(records[0]["estimated"], false);
}

#[tokio::test]
async fn a_client_that_asks_for_usage_gets_the_chunk_and_an_unchanged_body_upstream() {
    let mock = MockUpstream::start().await;
    let events = stream_with_usage_chunk("gpt-4.1", 11, 7);
    mock.push_reply(Reply::Sse(events.clone()));
    let gateway = Setup::on(&mock).start().await;
    let body = json!({
        "model": "gpt-4.1", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}],
    });
    let response = gateway.chat(&body).await;
    assert_eq!(read_text(response).await, events.concat());
    assert_eq!(mock.single().json(), body, "sent as the client wrote it");
}

#[tokio::test]
async fn usage_from_a_json_answer_is_priced_from_the_table() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(response.status(), 200);
    let _ = response.bytes().await.unwrap();

    let records = recorded(gateway).await;
    let record = &records[0];
    assert_eq!(record["provider"], "openai");
    assert_eq!(record["model_asked"], "gpt-4.1");
    assert_eq!(record["model_answered"], "gpt-4.1");
    assert_eq!(record["cache"], "MISS");
    assert_eq!(record["status"], 200);
    assert_eq!(
        (
            record["prompt_tokens"].as_u64(),
            record["completion_tokens"].as_u64()
        ),
        (Some(5), Some(3))
    );
    // gpt-4.1: $2 per million input tokens, $8 per million output tokens.
    let cost = record["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (5.0 * 2.0 + 3.0 * 8.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert!(record["ttfb_ms"].as_f64().is_some());
}

#[tokio::test]
async fn a_price_in_the_config_replaces_the_table_and_unknown_models_have_no_cost() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[prices.\"deepseek/deepseek-chat\"]\ninput = 1.0\noutput = 2.0\n")
        .start()
        .await;
    for model in ["deepseek-chat", "openrouter/some/unknown-model"] {
        let response = gateway.chat(&chat_body(model, false)).await;
        let _ = response.bytes().await.unwrap();
    }
    let records = recorded(gateway).await;
    let cost = records[0]["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (5.0 * 1.0 + 3.0 * 2.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(records[1]["prompt_tokens"], 5, "tokens are counted");
    assert_eq!(records[1]["cost_usd"], Value::Null, "never a made-up price");
}

#[tokio::test]
async fn without_usage_the_tokens_are_estimated_and_marked() {
    let mock = MockUpstream::start().await;
    let mut answer = completion("gpt-4.1", "Hello from the mock");
    answer.as_object_mut().unwrap().remove("usage");
    mock.push_reply(Reply::Json(StatusCode::OK, answer));
    // Gemini is not asked for stream usage; its stream has none.
    let mut events = sse_answer("gemini-2.5-flash", &["Hello", " there"]);
    let usage_at = events.len() - 2;
    events[usage_at] = sse_event(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
        "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }));
    mock.push_reply(Reply::Sse(events));
    let gateway = Setup::on(&mock).start().await;

    let json_body = chat_body("gpt-4.1", false);
    let _ = gateway.chat(&json_body).await.bytes().await.unwrap();
    let stream_body = chat_body("gemini-2.5-flash", true);
    let _ = gateway.chat(&stream_body).await.bytes().await.unwrap();
    assert!(
        mock.recorded()[1].json().get("stream_options").is_none(),
        "gemini is not asked for usage"
    );

    let records = recorded(gateway).await;
    let expect = |record: &Value, model: &str, body: &Value, answer: &str| {
        assert_eq!(record["estimated"], true, "{record}");
        assert_eq!(
            record["prompt_tokens"].as_u64(),
            Some(llm_bridge::tokens::estimate_prompt_tokens(model, body))
        );
        assert_eq!(
            record["completion_tokens"].as_u64(),
            Some(llm_bridge::tokens::count_text_tokens(model, answer))
        );
    };
    // Estimates are made off the async threads, so the two may be written
    // in either order.
    let by_model = |model: &str| records.iter().find(|r| r["model_asked"] == model).unwrap();
    expect(
        by_model("gpt-4.1"),
        "gpt-4.1",
        &json_body,
        "Hello from the mock",
    );
    expect(
        by_model("gemini-2.5-flash"),
        "gemini-2.5-flash",
        &stream_body,
        "Hello there",
    );
}

#[tokio::test]
async fn a_hit_records_what_it_saved() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    for _ in 0..2 {
        let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
        let _ = response.bytes().await.unwrap();
    }
    let records = recorded(gateway).await;
    let cost = (5.0 * 2.0 + 3.0 * 8.0) / 1e6;
    assert_eq!(records[1]["cache"], "HIT");
    assert_eq!(records[1]["cost_usd"].as_f64(), Some(0.0));
    let saved = records[1]["cost_saved_usd"].as_f64().unwrap();
    assert!((saved - cost).abs() < 1e-12, "{saved}");
    assert_eq!(
        records[1]["prompt_tokens"], 5,
        "the tokens it would have cost"
    );
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn stats_reports_what_was_asked_as_json_and_csv() {
    let mock = MockUpstream::start().await;
    let mut gateway = Setup::on(&mock).start().await;
    for model in ["gpt-4.1", "gpt-4.1", "deepseek-chat"] {
        let response = gateway.chat(&chat_body(model, false)).await;
        let _ = response.bytes().await.unwrap();
    }
    gateway.stop().await;
    let data_dir = gateway.data_dir.to_str().unwrap().to_string();
    // Run from an empty folder: no `.env` or config file but the flags.
    let elsewhere = tempfile::tempdir().unwrap();
    let stats = |format: &str| {
        let output = run(
            elsewhere.path(),
            &[
                "stats",
                "--data-dir",
                &data_dir,
                "--by",
                "model",
                "--format",
                format,
            ],
        );
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&stats("json")).unwrap();
    assert_eq!(json["total"]["requests"], 3);
    assert_eq!(json["total"]["hits"], 1);
    assert_eq!(json["total"]["prompt_tokens"], 15);
    assert_eq!(json["total"]["completion_tokens"], 9);
    let gpt = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"].as_str().unwrap().contains("gpt-4.1"))
        .unwrap();
    assert_eq!(gpt["requests"], 2);
    let saved = gpt["cost_saved_usd"].as_f64().unwrap();
    assert!((saved - 34e-6).abs() < 1e-12, "{saved}");
    let csv = stats("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "header, two models, total: {csv}");
    assert!(lines[0].starts_with("group,requests"), "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("total,3,")), "{csv}");
}

#[tokio::test]
async fn api_stats_filters_and_needs_the_access_key() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", "alice:key-a,bob:key-b")
        .start()
        .await;
    for (key, model) in [
        ("key-a", "gpt-4.1"),
        ("key-b", "deepseek-chat"),
        ("key-b", "gpt-4.1"),
    ] {
        let response = gateway
            .chat_request()
            .bearer_auth(key)
            .json(&chat_body(model, false))
            .send()
            .await
            .unwrap();
        let _ = response.bytes().await.unwrap();
    }
    let no_key = gateway
        .client
        .get(gateway.url("/api/stats"))
        .send()
        .await
        .unwrap();
    expect_error(no_key, 401, "invalid_api_key").await;

    let by_key: Value = api_stats(&gateway, "/api/stats?by=key&since=1d").await;
    assert_eq!(by_key["total"]["requests"], 3, "{by_key}");
    let bob = by_key["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == "bob")
        .unwrap();
    assert_eq!(bob["requests"], 2);

    let future: Value = api_stats(&gateway, "/api/stats?since=2999-01-01").await;
    assert_eq!(future["total"]["requests"], 0);

    // Without `by`, rows are by model, the total still there.
    let plain: Value = api_stats(&gateway, "/api/stats").await;
    assert_eq!(plain["by"], "model", "{plain}");
    assert_eq!(plain["total"]["requests"], 3);
    let groups: Vec<&str> = plain["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups.len(), 2, "{plain}");
    assert!(groups.contains(&"openai/gpt-4.1"), "{plain}");
    let total_only: Value = api_stats(&gateway, "/api/stats?by=none").await;
    assert_eq!(total_only["rows"], json!([]));
    assert_eq!(total_only["total"]["requests"], 3);

    let bad = gateway
        .client
        .get(gateway.url("/api/stats?by=colour"))
        .bearer_auth("key-a")
        .send()
        .await
        .unwrap();
    expect_error(bad, 400, "invalid_parameter").await;
}

#[tokio::test]
async fn metrics_show_requests_tokens_cost_and_cache() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    for _ in 0..2 {
        let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
        let _ = response.bytes().await.unwrap();
    }
    let response = gateway.chat(&chat_body("no-such-model", false)).await;
    assert_eq!(response.status(), 404);
    let text = gateway.scrape_metrics_until("cache=\"HIT\"").await;
    let value = |needle: &str| -> f64 {
        text.lines()
            .find(|l| !l.starts_with('#') && l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(
            "llm_bridge_requests_total{provider=\"openai\",model=\"gpt-4.1\",status=\"200\",cache=\"MISS\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            "llm_bridge_requests_total{provider=\"openai\",model=\"gpt-4.1\",status=\"200\",cache=\"HIT\"}"
        ),
        1.0
    );
    assert_eq!(
        value("llm_bridge_tokens_total{provider=\"openai\",model=\"gpt-4.1\",kind=\"prompt\""),
        5.0
    );
    assert!(value("llm_bridge_cost_usd_total{provider=\"openai\",model=\"gpt-4.1\"}") > 0.0);
    assert_eq!(value("llm_bridge_cache_entries"), 1.0);
    assert!(text.contains("llm_bridge_request_duration_seconds_bucket"));
}

/// `GET path` with alice's key, as JSON.
async fn api_stats(gateway: &Gateway, path: &str) -> Value {
    let response = gateway
        .client
        .get(gateway.url(path))
        .bearer_auth("key-a")
        .send();
    response.await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_stuck_usage_store_never_holds_up_answers() {
    let mock = MockUpstream::start().await;
    let mut gateway = Setup::on(&mock).start().await;
    // Another connection holds the database exclusively: every write the
    // store tries waits for the lock.
    let lock = rusqlite::Connection::open(gateway.data_dir.join("usage.sqlite3")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for n in 0..20 {
        let body =
            json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": format!("n{n}")}]});
        let response = tokio::time::timeout(PATIENCE, gateway.chat(&body))
            .await
            .expect("answered while the store is stuck");
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
    }
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    gateway.stop().await;
    let report = report(
        &gateway.data_dir,
        &StatsQuery {
            since: None,
            until: None,
            by: Some(GroupBy::Model),
        },
    )
    .unwrap();
    assert_eq!(report.total.requests, 20, "written once the lock was gone");
}

#[tokio::test]
async fn a_data_folder_that_cannot_be_opened_leaves_answers_alone() {
    let mock = MockUpstream::start().await;
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let mut setup = Setup::on(&mock);
    // A file where the data folder should be: the store cannot open.
    setup.data_dir = Some(blocker.path().to_path_buf());
    let gateway = setup.start().await;
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(response.status(), 200);
    let unavailable = gateway
        .client
        .get(gateway.url("/api/stats"))
        .send()
        .await
        .unwrap();
    expect_error(unavailable, 503, "stats_unavailable").await;
}
