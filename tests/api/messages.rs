//! `/v1/messages` and `/v1/messages/count_tokens` seen by a client:
//! Anthropic-shaped errors with the matching status for every bad input,
//! either auth header, token counting answered locally for providers
//! without it, and Claude Code's per-request billing line left out of the
//! key and of what other providers see.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

fn messages_body(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]})
}

async fn post(gateway: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Checks an Anthropic-shaped error: `{"type": "error", "error": {"type",
/// "message"}}` with `status`.
async fn expect_anthropic_error(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn bad_requests_get_anthropic_errors_with_their_status() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let model = "deepseek-chat";
    let messages = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (
            json!({"max_tokens": 5, "messages": messages}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": model, "messages": messages}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": model, "max_tokens": 0, "messages": messages}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": model, "max_tokens": 5}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": model, "max_tokens": 5, "messages": "hi"}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": model, "max_tokens": 5, "messages": messages, "stream": "yes"}),
            400,
            "invalid_request_error",
        ),
        (
            json!({"model": "no-such-model", "max_tokens": 5, "messages": messages}),
            404,
            "not_found_error",
        ),
        (
            json!({"model": model, "max_tokens": 5, "messages": messages,
                "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
            400,
            "invalid_request_error",
        ),
    ];
    for (body, status, kind) in cases {
        let error =
            expect_anthropic_error(post(&gateway, "/v1/messages", &body).await, status, kind).await;
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
    let response = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_anthropic_error(response, 400, "invalid_request_error").await;
    let count = json!({"model": model});
    expect_anthropic_error(
        post(&gateway, "/v1/messages/count_tokens", &count).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn either_auth_header_is_accepted_and_a_missing_key_is_an_anthropic_401() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", "claude:acc-key-123")
        .start()
        .await;
    let body = messages_body("deepseek-chat", "hi");
    let none = post(&gateway, "/v1/messages", &body).await;
    expect_anthropic_error(none, 401, "authentication_error").await;
    for (name, value) in [
        ("x-api-key", "acc-key-123"),
        ("authorization", "Bearer acc-key-123"),
    ] {
        let response = gateway
            .client
            .post(gateway.url("/v1/messages"))
            .header(name, value)
            .header("anthropic-version", "2099-01-01")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let message: Value = response.json().await.unwrap();
        assert_eq!(message["type"], "message");
    }
    for recorded in mock.recorded() {
        assert_eq!(
            recorded.header("authorization").unwrap(),
            format!("Bearer {DEEPSEEK_KEY}")
        );
        assert_eq!(recorded.header("x-api-key"), None);
        assert_eq!(
            recorded.header("anthropic-version"),
            None,
            "not for OpenAI APIs"
        );
    }
}

#[tokio::test]
async fn count_tokens_for_other_providers_is_a_local_estimate() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({"model": "deepseek-chat", "system": "You are terse.",
                      "messages": [{"role": "user", "content": "How many tokens is this?"}]});
    let response = post(&gateway, "/v1/messages/count_tokens", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-llm-bridge-provider"), "llm-bridge");
    let counted: Value = response.json().await.unwrap();
    let tokens = counted["input_tokens"].as_u64().unwrap();
    assert!((10..40).contains(&tokens), "{counted}");
    assert_eq!(mock.hits(), 0);
    let log = gateway.stop_and_read_log().await;
    let line: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["path"], "/v1/messages/count_tokens");
    assert_eq!(line["estimated"], true, "{line}");
}

#[tokio::test]
async fn the_billing_line_is_left_out_of_the_key_and_of_translated_prompts() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = |hash: &str| {
        json!({"model": "deepseek-chat", "max_tokens": 64,
               "system": [
                   {"type": "text", "text": format!(
                       "x-anthropic-billing-header: cc_version=2.0.14; cc_entrypoint=cli; cch={hash};")},
                   {"type": "text", "text": "You are Claude Code."},
               ],
               "messages": [{"role": "user", "content": "hi"}]})
    };
    let first = post(&gateway, "/v1/messages", &body("a1b2c3")).await;
    assert_eq!(cache_status(&first).0, "MISS");
    let second = post(&gateway, "/v1/messages", &body("d4e5f6")).await;
    assert_eq!(
        cache_status(&second).0,
        "HIT",
        "a new hash is the same request"
    );
    let sent = mock.single().json();
    let system = &sent["messages"][0];
    assert_eq!(system["role"], "system");
    assert!(
        !system.to_string().contains("billing"),
        "the billing line means nothing to other models: {system}"
    );
    assert!(system.to_string().contains("You are Claude Code."));
}
