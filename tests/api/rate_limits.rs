//! Requests and tokens per minute per access key: 429 with Retry-After,
//! recovery as time passes (on a clock the test moves), cache hits free of
//! token charges.

use std::time::Duration;

use axum::http::StatusCode;
use llm_bridge::limits::LimitClock;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

const KEYS: &str = "alice:key-alice,bob:key-bob";

fn ask(gateway: &Gateway, key: &str, content: &str) -> reqwest::RequestBuilder {
    gateway.chat_request().bearer_auth(key).json(
        &json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": content}]}),
    )
}

async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn requests_per_minute_refuse_with_retry_after_then_recover() {
    let mock = MockUpstream::start().await;
    let (clock, time) = LimitClock::manual();
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", KEYS)
        .config("[limits]\nrequests_per_minute = 2\n[limits.keys.bob]\nrequests_per_minute = 5\n")
        .limit_clock(clock)
        .start()
        .await;

    assert_eq!(status_of(ask(&gateway, "key-alice", "one")).await, 200);
    // The same request again is a cache hit; it still counts as a request.
    let hit = ask(&gateway, "key-alice", "one").send().await.unwrap();
    assert_eq!(cache_status(&hit).0, "HIT");
    let refused = ask(&gateway, "key-alice", "two").send().await.unwrap();
    assert_eq!(retry_after(&refused), 30, "one request every 60/2 s");
    let body = expect_error(refused, 429, "rate_limit_exceeded").await;
    assert_eq!(body["error"]["type"], "requests");
    assert_eq!(
        mock.hits(),
        1,
        "a refused request never reaches the provider"
    );

    // Bob has his own, larger allowance.
    for n in 0..5 {
        assert_eq!(
            status_of(ask(&gateway, "key-bob", &format!("b{n}"))).await,
            200
        );
    }
    assert_eq!(status_of(ask(&gateway, "key-bob", "b5")).await, 429);

    time.advance(Duration::from_secs(30));
    assert_eq!(
        status_of(ask(&gateway, "key-alice", "two")).await,
        200,
        "recovered"
    );
    assert_eq!(status_of(ask(&gateway, "key-alice", "three")).await, 429);
}

fn completion_using(tokens: u64) -> Reply {
    let mut answer = completion("deepseek-chat", "long answer");
    answer["usage"] =
        json!({"prompt_tokens": 10, "completion_tokens": tokens - 10, "total_tokens": tokens});
    Reply::Json(StatusCode::OK, answer)
}

#[tokio::test]
async fn tokens_per_minute_settle_with_real_usage_and_spare_cache_hits() {
    let mock = MockUpstream::start().await;
    let (clock, time) = LimitClock::manual();
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", KEYS)
        .config("[limits]\ntokens_per_minute = 600\n")
        .limit_clock(clock)
        .start()
        .await;

    // The prompt estimate is small, but the answer used 1,800 tokens: the
    // key is now 1,200 tokens in debt, two minutes at 600 a minute.
    mock.push_reply(completion_using(1800));
    let first = ask(&gateway, "key-alice", "write a lot")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let _: Value = first.json().await.unwrap();

    let refused = ask(&gateway, "key-alice", "more please")
        .send()
        .await
        .unwrap();
    let wait = retry_after(&refused);
    assert!((120..=121).contains(&wait), "Retry-After {wait}");
    let body = expect_error(refused, 429, "rate_limit_exceeded").await;
    assert_eq!(body["error"]["type"], "tokens");

    // A cache hit costs no tokens, and another key is not affected.
    let hit = ask(&gateway, "key-alice", "write a lot")
        .send()
        .await
        .unwrap();
    assert_eq!(cache_status(&hit).0, "HIT");
    assert_eq!(hit.status(), 200);
    assert_eq!(status_of(ask(&gateway, "key-bob", "hello")).await, 200);

    time.advance(Duration::from_secs(wait));
    assert_eq!(
        status_of(ask(&gateway, "key-alice", "more please")).await,
        200
    );
    assert_eq!(mock.hits(), 3);
}

#[tokio::test]
async fn streamed_usage_settles_tokens_too() {
    let mock = MockUpstream::start().await;
    let (clock, _time) = LimitClock::manual();
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", KEYS)
        .config("[cache]\nmode = \"off\"\n[limits]\ntokens_per_minute = 100\n")
        .limit_clock(clock)
        .start()
        .await;
    let mut events = sse_answer("deepseek-chat", &["x"]);
    let usage_event = events.len() - 2;
    events[usage_event] = sse_event(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
        "model": "deepseek-chat", "choices": [],
        "usage": {"prompt_tokens": 20, "completion_tokens": 480, "total_tokens": 500},
    }));
    mock.push_reply(Reply::Sse(events));
    let mut body = chat_body("deepseek-chat", true);
    body["messages"][0]["content"] = json!("stream a lot");
    let streamed = gateway
        .chat_request()
        .bearer_auth("key-alice")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(read_text(streamed).await.ends_with(SSE_DONE));
    let refused = ask(&gateway, "key-alice", "next").send().await.unwrap();
    expect_error(refused, 429, "rate_limit_exceeded").await;
}

#[tokio::test]
async fn limits_for_an_unknown_key_name_are_a_config_error() {
    let mock = MockUpstream::start().await;
    let dirs = tempfile::tempdir().unwrap();
    let error = Setup::on(&mock)
        .env("ACCESS_API_KEYS", KEYS)
        .config("[limits.keys.carol]\nrequests_per_minute = 1\n")
        .resolve(&dirs)
        .unwrap_err()
        .to_string();
    assert!(error.contains("limits.keys.carol"), "{error}");
    assert!(error.contains("no access key is named `carol`"), "{error}");
}
