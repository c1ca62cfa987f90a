//! Access keys, and which key reaches the upstream.

use crate::common::*;
use crate::mock_upstream::*;

const ACCESS: &str = "team-key-abc,ci-key-xyz";

#[tokio::test]
async fn access_keys_are_required_when_set() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", ACCESS)
        .start()
        .await;
    let body = chat_body("gpt-4.1", false);

    let no_key = gateway.chat_request().json(&body).send().await.unwrap();
    let error = expect_error(no_key, 401, "invalid_api_key").await;
    assert_eq!(error["error"]["type"], "authentication_error");
    for bad in [
        "Bearer team-key-ab",
        "Bearer team-key-abcd",
        "Bearer ",
        "Basic dGVhbQ==",
        "team",
    ] {
        let response = gateway
            .chat_request()
            .header("authorization", bad)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, 401, "invalid_api_key").await;
        assert!(!error.to_string().contains("team-key-abc"));
    }
    let models = gateway
        .client
        .get(gateway.url("/v1/models"))
        .send()
        .await
        .unwrap();
    expect_error(models, 401, "invalid_api_key").await;
    assert_eq!(mock.hits(), 0);

    for (name, value) in [
        ("authorization", "Bearer team-key-abc"),
        ("x-api-key", "ci-key-xyz"),
        ("api-key", "team-key-abc"),
    ] {
        let response = gateway
            .chat_request()
            .header(name, value)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
    }
    for seen in mock.recorded() {
        assert_eq!(
            seen.header("authorization").unwrap(),
            format!("Bearer {OPENAI_KEY}")
        );
        assert_eq!(seen.header("x-api-key"), None);
        assert_eq!(seen.header("api-key"), None);
    }

    let health = gateway
        .client
        .get(gateway.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "/health needs no key");
}

#[tokio::test]
async fn with_access_keys_a_keyless_provider_gets_no_authorization() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", ACCESS)
        .without("DEEPSEEK_API_KEY")
        .start()
        .await;
    let response = gateway
        .chat_request()
        .bearer_auth("team-key-abc")
        .json(&chat_body("deepseek-chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.single().header("authorization"), None);
}

#[tokio::test]
async fn without_access_keys_the_client_key_reaches_keyless_providers() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).without("DEEPSEEK_API_KEY").start().await;
    // Different prompts: one local user shares one cache, so identical
    // requests would be answered from it.
    let send = |model: &'static str, header: &'static str, value: &'static str| {
        let mut body = chat_body(model, false);
        body["messages"][0]["content"] = value.into();
        gateway
            .chat_request()
            .header(header, value)
            .json(&body)
            .send()
    };
    assert_eq!(
        send("deepseek-chat", "authorization", "Bearer sk-user-own")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        send("deepseek-chat", "x-api-key", "sk-user-other")
            .await
            .unwrap()
            .status(),
        200
    );
    // A provider with its own key uses it, whatever the client sends.
    assert_eq!(
        send("gpt-4.1", "authorization", "Bearer sk-user-own")
            .await
            .unwrap()
            .status(),
        200
    );

    let seen: Vec<_> = mock
        .recorded()
        .iter()
        .map(|r| r.header("authorization"))
        .collect();
    assert_eq!(
        seen,
        vec![
            Some("Bearer sk-user-own".to_string()),
            Some("Bearer sk-user-other".to_string()),
            Some(format!("Bearer {OPENAI_KEY}")),
        ]
    );
}

#[tokio::test]
async fn open_mode_needs_no_key() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    assert_eq!(
        gateway.chat(&chat_body("gpt-4.1", false)).await.status(),
        200
    );
    assert_eq!(
        mock.single().header("authorization").unwrap(),
        format!("Bearer {OPENAI_KEY}")
    );
}
