//! Hostile input: model names that try to reach another host or inject
//! headers, malformed bytes. Each gets a clear answer, no request goes
//! anywhere but the configured provider URL, and nothing leaks. (Slow and
//! oversized clients: `server_limits`; access keys: `auth`.)

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// The one path each provider may be called on.
fn chat_path(provider: &str) -> String {
    format!("/{provider}/v1/chat/completions")
}

#[tokio::test]
async fn a_model_name_never_changes_which_host_or_path_is_called() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    // Names that pick a provider: the rest goes upstream only as the JSON
    // `model` value, byte for byte.
    let routed = [
        ("openai/../../admin", "openai", "../../admin"),
        (
            "openai/%2e%2e/%2e%2e/admin",
            "openai",
            "%2e%2e/%2e%2e/admin",
        ),
        (
            "openai/http://127.0.0.1:1/steal",
            "openai",
            "http://127.0.0.1:1/steal",
        ),
        ("deepseek/..", "deepseek", ".."),
        (
            "gpt-4/../../../etc/passwd",
            "openai",
            "gpt-4/../../../etc/passwd",
        ),
        (
            "openrouter//evil.example.com/x",
            "openrouter",
            "/evil.example.com/x",
        ),
    ];
    for (model, provider, upstream_model) in routed {
        let response = gateway.chat(&chat_body(model, false)).await;
        assert_eq!(response.status(), 200, "{model}");
        let seen = mock.recorded().pop().unwrap();
        assert_eq!(seen.path, chat_path(provider), "{model}");
        assert_eq!(seen.json()["model"], upstream_model, "{model}");
    }
    // Names that match no provider are refused before any upstream call.
    let before = mock.hits();
    for model in [
        "http://evil.example.com/v1",
        "https://127.0.0.1:1/v1/chat/completions",
        "../openai/gpt-4.1",
        "%2e%2e/openai/gpt-4.1",
        "//evil.example.com/gpt-4.1",
        "file:///etc/passwd",
    ] {
        let response = gateway.chat(&chat_body(model, false)).await;
        expect_error(response, 404, "model_not_found").await;
    }
    assert_eq!(mock.hits(), before, "no upstream call for unroutable names");
}

#[tokio::test]
async fn control_characters_in_a_model_name_inject_no_header() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    for stream in [false, true] {
        let model = "gpt-4.1\r\nx-injected: yes\r\n\r\nHTTP/1.1 200 OK";
        let response = gateway.chat(&chat_body(model, stream)).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-injected").is_none());
        assert!(
            response.headers().get("x-llm-bridge-model").is_none(),
            "a model name that cannot be a header value is left out"
        );
        let _ = response.bytes().await.unwrap();
        let seen = mock.recorded().pop().unwrap();
        assert!(seen.header("x-injected").is_none());
        assert_eq!(seen.json()["model"], model, "sent only as a JSON string");
    }
}

#[tokio::test]
async fn invalid_utf8_and_deep_nesting_get_400_and_the_server_stays_up() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let mut invalid_string =
        br#"{"model":"gpt-4.1","messages":[{"role":"user","content":""#.to_vec();
    invalid_string.extend_from_slice(b"\xc3\x28\xff");
    invalid_string.extend_from_slice(br#""}]}"#);
    let deep_object = format!(
        r#"{{"model":"gpt-4.1","messages":[],"x":{}1{}}}"#,
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    for body in [invalid_string, deep_object.into_bytes()] {
        let response = gateway
            .chat_request()
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_json").await;
    }
    assert_eq!(mock.hits(), 0);
    let fine = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(fine.status(), 200, "still serving");
}

#[tokio::test]
async fn no_key_shows_up_in_errors_health_or_logs() {
    let mock = MockUpstream::start().await;
    let access = "leak-check-access-key-9876";
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", &format!("alice:{access}"))
        .env("DEEPSEEK_API_KEY", "sk-leak-a,sk-leak-b")
        .config("[retry]\nmax_retries = 0\n")
        .start()
        .await;
    let mut seen = String::new();
    // A wrong key, a refused upstream key, an unknown model, a bad body.
    let wrong = gateway
        .chat_request()
        .bearer_auth(format!("{access}x"))
        .json(&chat_body("deepseek-chat", false))
        .send()
        .await
        .unwrap();
    seen.push_str(&format!("{:?}", wrong.headers()));
    seen.push_str(&wrong.text().await.unwrap());
    mock.push_reply(Reply::Json(
        reqwest::StatusCode::UNAUTHORIZED,
        json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    ));
    for body in [
        chat_body("deepseek-chat", false),
        chat_body("no-such-model", false),
        json!({"model": 1}),
    ] {
        let response = gateway
            .chat_request()
            .bearer_auth(access)
            .json(&body)
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    let health: Value = gateway.get_json("/health").await;
    seen.push_str(&health.to_string());
    seen.push_str(&gateway.stop_and_read_log().await);
    for secret in [access, "sk-leak-a", "sk-leak-b"] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
    assert!(seen.contains("alice"), "the key's name is what logs show");
}
