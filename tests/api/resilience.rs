//! Retries, fallbacks, key rotation, timeouts and the per-provider
//! concurrency cap, against a mock that fails on command.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::mock_upstream::*;
use crate::reader::{first_chunk, last_event, read_to_end};

/// Fast retries so the tests do not wait for the default backoff.
const FAST_RETRY: &str = "[retry]\nbackoff_ms = 5\nmax_backoff_ms = 20\n";

fn server_error() -> Reply {
    Reply::Json(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
    )
}

fn throttled(retry_after: &str) -> Reply {
    Reply::WithHeaders(
        vec![("retry-after", retry_after.to_string())],
        Box::new(Reply::Json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}),
        )),
    )
}

fn paths(mock: &MockUpstream) -> Vec<String> {
    mock.recorded().into_iter().map(|r| r.path).collect()
}

#[tokio::test]
async fn a_failed_call_is_retried_and_the_retry_answers() {
    let mock = MockUpstream::start().await;
    mock.push_reply(server_error());
    let gateway = Setup::on(&mock).config(FAST_RETRY).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-llm-bridge-model"),
        "deepseek/deepseek-chat"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the mock"
    );
    assert_eq!(mock.hits(), 2, "one failure, one retry");
}

#[tokio::test]
async fn retries_exhausted_the_fallback_answers_and_is_cached_under_the_asked_model() {
    let mock = MockUpstream::start().await;
    for _ in 0..3 {
        mock.push_reply(server_error());
    }
    let config = format!(
        "{FAST_RETRY}[fallbacks]\n\"deepseek-chat\" = [\"openrouter/deepseek/deepseek-chat\"]\n"
    );
    let gateway = Setup::on(&mock).config(&config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-llm-bridge-provider"), "openrouter");
    assert_eq!(
        header(&response, "x-llm-bridge-model"),
        "openrouter/deepseek/deepseek-chat"
    );
    let (cache, key) = cache_status(&response);
    assert_eq!(cache, "MISS");
    let text = read_text(response).await;
    assert!(text.ends_with(SSE_DONE), "{text}");
    assert_eq!(
        paths(&mock),
        [
            "/deepseek/v1/chat/completions",
            "/deepseek/v1/chat/completions",
            "/deepseek/v1/chat/completions",
            "/openrouter/v1/chat/completions",
        ],
        "the first try and two retries, then the fallback"
    );
    assert_eq!(mock.recorded()[3].json()["model"], "deepseek/deepseek-chat");

    // The same request again: answered from the cache, under the key of the
    // model asked for, still saying who answered.
    let again = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(cache_status(&again), ("HIT".to_string(), key));
    assert_eq!(header(&again, "x-llm-bridge-provider"), "openrouter");
    assert_eq!(
        header(&again, "x-llm-bridge-model"),
        "openrouter/deepseek/deepseek-chat"
    );
    assert_eq!(mock.hits(), 4);

    let log = gateway.stop_and_read_log().await;
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["model"], "deepseek-chat");
    assert_eq!(
        first["provider"], "openrouter",
        "the log names who answered"
    );
    assert_eq!(first["upstream_model"], "deepseek/deepseek-chat");
}

#[tokio::test]
async fn fallbacks_work_with_the_cache_off_and_by_provider_model_name() {
    let mock = MockUpstream::start().await;
    mock.push_reply(server_error());
    let config = "[cache]\nmode = \"off\"\n[retry]\nmax_retries = 0\n[fallbacks]\n\"deepseek/deepseek-chat\" = [\"qwen/qwen-plus\"]\n";
    let gateway = Setup::on(&mock).config(config).start().await;

    // A bare name finds the fallback listed under its provider/model form.
    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-llm-bridge-model"), "qwen/qwen-plus");
    assert_eq!(header(&response, "x-cache"), "BYPASS");
    assert_eq!(
        paths(&mock),
        ["/deepseek/v1/chat/completions", "/qwen/v1/chat/completions"]
    );
    assert_eq!(mock.recorded()[1].json()["model"], "qwen-plus");
}

#[tokio::test]
async fn every_model_failing_relays_the_last_error() {
    let mock = MockUpstream::start().await;
    mock.push_reply(server_error());
    mock.push_reply(Reply::Json(
        StatusCode::BAD_GATEWAY,
        json!({"error": {"message": "fallback down too", "type": "server_error", "code": null}}),
    ));
    let config =
        "[retry]\nmax_retries = 0\n[fallbacks]\n\"deepseek-chat\" = [\"qwen/qwen-plus\"]\n";
    let gateway = Setup::on(&mock).config(config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(header(&response, "x-llm-bridge-provider"), "qwen");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "fallback down too");
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn nothing_is_retried_once_the_first_byte_has_gone_out() {
    let mock = MockUpstream::start().await;
    let events = sse_answer("deepseek-chat", &["partial"]);
    mock.push_reply(Reply::CutSse(events[..2].to_vec()));
    let gateway = Setup::on(&mock).config(FAST_RETRY).start().await;

    let mut response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(response.status(), 200);
    let first = first_chunk(&mut response).await;
    assert!(!first.is_empty());
    mock.release();
    let rest = read_to_end(response).await;
    assert!(rest.contains("upstream_stream_error"), "{rest}");
    assert!(!rest.contains("[DONE]"));
    assert_eq!(mock.hits(), 1, "a started answer is never retried");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for() {
    let mock = MockUpstream::start().await;
    mock.push_reply(throttled("1"));
    let gateway = Setup::on(&mock).config(FAST_RETRY).start().await;

    let started = Instant::now();
    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the retry waited for Retry-After: {:?}",
        started.elapsed()
    );
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn a_long_retry_after_goes_to_the_client_at_once() {
    let mock = MockUpstream::start().await;
    mock.push_reply(throttled("30"));
    let gateway = Setup::on(&mock).config(FAST_RETRY).start().await;

    let started = Instant::now();
    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    // Well short of the 30 s asked for: not waited for.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), "30");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Json(
        StatusCode::BAD_REQUEST,
        json!({"error": {"message": "bad temperature", "type": "invalid_request_error", "code": null}}),
    ));
    let config = format!("{FAST_RETRY}[fallbacks]\n\"deepseek-chat\" = [\"qwen/qwen-plus\"]\n");
    let gateway = Setup::on(&mock).config(&config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(mock.hits(), 1, "neither retried nor sent to the fallback");
}

#[tokio::test]
async fn a_refused_key_is_swapped_for_the_next_and_cools_down() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Json(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"message": "invalid key", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    ));
    let gateway = Setup::on(&mock)
        .env("DEEPSEEK_API_KEY", "sk-first,sk-second")
        .config("[retry]\nmax_retries = 0\n")
        .start()
        .await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200, "the second key answered");
    let again = gateway
        .chat(&json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": "more"}]}))
        .await;
    assert_eq!(again.status(), 200);
    let keys = mock.authorizations();
    assert_eq!(
        keys,
        ["Bearer sk-first", "Bearer sk-second", "Bearer sk-second"],
        "the refused key is passed over while it cools down"
    );
}

#[tokio::test]
async fn keys_take_turns() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("DEEPSEEK_API_KEY", "sk-a,sk-b")
        .config("[cache]\nmode = \"off\"\n")
        .start()
        .await;
    for _ in 0..4 {
        let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
        assert_eq!(response.status(), 200);
    }
    let keys = mock.authorizations();
    assert_eq!(
        keys,
        ["Bearer sk-a", "Bearer sk-b", "Bearer sk-a", "Bearer sk-b"]
    );
}

#[tokio::test]
async fn no_first_byte_in_time_is_retried() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Stall);
    let config = format!("first_byte_timeout_secs = 1\n{FAST_RETRY}");
    let gateway = Setup::on(&mock).config(&config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn no_first_byte_at_all_is_a_504() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Stall);
    let config = "first_byte_timeout_secs = 1\n[retry]\nmax_retries = 0\n";
    let gateway = Setup::on(&mock).config(config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    expect_error(response, 504, "upstream_timeout").await;
}

/// A stream that stops: an SSE error event naming the timeout, then a clean
/// end of the body (no hang, no reset).
async fn stalled_stream_ends_cleanly(config: &str, message: &str) {
    let mock = MockUpstream::start().await;
    let events = mock.push_gated_answer("deepseek-chat", &["partial", "never"]);
    let gateway = Setup::on(&mock).config(config).start().await;

    let response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(PATIENCE, response.text())
        .await
        .expect("the stalled stream ended")
        .expect("the body ended cleanly");
    assert!(text.starts_with(&events[..2].concat()), "{text}");
    let error = last_event(&text);
    assert_eq!(error["error"]["code"], "upstream_timeout");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(message),
        "{error}"
    );
    assert!(!text.contains("[DONE]"));
    mock.release();
}

#[tokio::test]
async fn a_stream_silent_past_the_idle_timeout_ends_with_an_error_event() {
    stalled_stream_ends_cleanly("idle_timeout_secs = 1\n", "sent nothing for 1 s").await;
}

#[tokio::test]
async fn a_stream_past_the_total_timeout_ends_with_an_error_event() {
    stalled_stream_ends_cleanly("total_timeout_secs = 1\n", "total timeout of 1 s").await;
}

#[tokio::test]
async fn the_concurrency_cap_queues_then_refuses() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::GatedJson(
        StatusCode::OK,
        completion("deepseek-chat", "first"),
    ));
    let config =
        "[cache]\nmode = \"off\"\n[providers.deepseek]\nmax_concurrent = 1\nmax_queued = 1\n";
    let gateway = Setup::on(&mock).config(config).start().await;
    let ask = |content: &'static str| {
        let request = gateway.chat_request().json(&json!({
            "model": "deepseek-chat",
            "messages": [{"role": "user", "content": content}],
        }));
        tokio::spawn(async move { request.send().await.unwrap() })
    };

    let first = ask("one");
    mock.wait_for_hits(1, PATIENCE).await;
    let second = ask("two");
    wait_for_queue(&gateway, 1).await;

    let third = ask("three").await.unwrap();
    assert_eq!(header(&third, "retry-after"), "1");
    expect_error(third, 503, "provider_busy").await;
    assert_eq!(
        mock.hits(),
        1,
        "the queued request has not gone upstream yet"
    );

    mock.release();
    assert_eq!(first.await.unwrap().status(), 200);
    assert_eq!(second.await.unwrap().status(), 200);
    assert_eq!(mock.hits(), 2);
}

/// Waits until `/health` shows `count` requests queued for deepseek.
async fn wait_for_queue(gateway: &Gateway, count: u64) {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let health: serde_json::Value = gateway.get_json("/health").await;
            if provider(&health, "deepseek")["queued"] == count {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the request was queued");
}
