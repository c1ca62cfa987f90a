//! Every way of naming a model, streamed and not, through the real server.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// (client model, upstream path prefix, upstream model, provider key)
const NAMINGS: &[(&str, &str, &str, &str)] = &[
    ("openai/gpt-4.1", "/openai/v1", "gpt-4.1", OPENAI_KEY),
    (
        "deepseek/deepseek-chat",
        "/deepseek/v1",
        "deepseek-chat",
        DEEPSEEK_KEY,
    ),
    (
        "openrouter/anthropic/claude-3.5-sonnet",
        "/openrouter/v1",
        "anthropic/claude-3.5-sonnet",
        OPENROUTER_KEY,
    ),
    ("qwen/qwen-plus", "/qwen/v1", "qwen-plus", QWEN_KEY),
    (
        "gemini/gemini-2.5-flash",
        "/gemini/v1",
        "gemini-2.5-flash",
        GEMINI_KEY,
    ),
    ("gpt-4.1", "/openai/v1", "gpt-4.1", OPENAI_KEY),
    ("o1-mini", "/openai/v1", "o1-mini", OPENAI_KEY),
    ("o3", "/openai/v1", "o3", OPENAI_KEY),
    ("o4-mini", "/openai/v1", "o4-mini", OPENAI_KEY),
    (
        "chatgpt-4o-latest",
        "/openai/v1",
        "chatgpt-4o-latest",
        OPENAI_KEY,
    ),
    (
        "deepseek-chat",
        "/deepseek/v1",
        "deepseek-chat",
        DEEPSEEK_KEY,
    ),
    (
        "qwen-turbo-latest",
        "/qwen/v1",
        "qwen-turbo-latest",
        QWEN_KEY,
    ),
    (
        "gemini-2.5-flash",
        "/gemini/v1",
        "gemini-2.5-flash",
        GEMINI_KEY,
    ),
];

#[tokio::test]
async fn every_naming_routes_non_streamed_requests() {
    for &(model, prefix, upstream_model, key) in NAMINGS {
        let mock = MockUpstream::start().await;
        let gateway = Setup::on(&mock).start().await;
        let sent = json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.25,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        });
        let response = gateway.chat(&sent).await;
        assert_eq!(response.status(), 200, "{model}");
        let provider = prefix.trim_start_matches('/').trim_end_matches("/v1");
        assert_eq!(response.headers()["x-llm-bridge-provider"], provider);
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, completion(upstream_model, "Hello from the mock"));

        let seen = mock.single();
        assert_eq!(seen.path, format!("{prefix}/chat/completions"), "{model}");
        assert_eq!(
            seen.header("authorization").unwrap(),
            format!("Bearer {key}")
        );
        let mut expected = sent.clone();
        expected["model"] = json!(upstream_model);
        assert_eq!(seen.json(), expected, "only the model changes for {model}");
    }
}

#[tokio::test]
async fn every_naming_routes_streamed_requests() {
    for &(model, prefix, upstream_model, _) in NAMINGS {
        let mock = MockUpstream::start().await;
        let gateway = Setup::on(&mock).start().await;
        let response = gateway.chat(&chat_body(model, true)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let text = read_text(response).await;
        let expected: String = sse_answer(upstream_model, &["tok0 ", "tok1 ", "tok2 "]).concat();
        assert_eq!(text, expected, "{model}");
        assert_eq!(mock.single().path, format!("{prefix}/chat/completions"));
        assert_eq!(mock.single().json()["stream"], true);
    }
}

#[tokio::test]
async fn an_unchanged_model_forwards_the_exact_bytes() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let raw = "{ \"model\":\"gpt-4.1\",\n  \"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9\"}], \"seed\": 1.50 }";
    let response = gateway
        .chat_request()
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.single().body, raw.as_bytes());
}

#[tokio::test]
async fn aliases_and_the_default_provider_route_bare_names() {
    let mock = MockUpstream::start().await;
    let toml = format!(
        r#"
default_provider = "local"

[aliases]
sonnet = "openrouter/anthropic/claude-3.5-sonnet"
fast = "local/llama3.2"

[providers.local]
base_url = "{}"
models = ["llama3.2"]
"#,
        mock.url("/local/v1")
    );
    let gateway = Setup::on(&mock).config(&toml).start().await;

    for (model, path, upstream_model) in [
        ("sonnet", "/openrouter/v1", "anthropic/claude-3.5-sonnet"),
        ("fast", "/local/v1", "llama3.2"),
        ("mistral-7b", "/local/v1", "mistral-7b"),
        ("meta/llama-3", "/local/v1", "meta/llama-3"),
        ("local/qwen2.5:7b", "/local/v1", "qwen2.5:7b"),
    ] {
        let response = gateway.chat(&chat_body(model, false)).await;
        assert_eq!(response.status(), 200, "{model}");
        let seen = mock.recorded().pop().unwrap();
        assert_eq!(seen.path, format!("{path}/chat/completions"), "{model}");
        assert_eq!(seen.json()["model"], upstream_model, "{model}");
        if path == "/local/v1" {
            assert_eq!(seen.header("authorization"), None, "local has no key");
        }
    }
}

#[tokio::test]
async fn unknown_models_get_model_not_found() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    for model in ["llama3", "mistral/mistral-large", "openai/", "GPT-4"] {
        let body = expect_error(
            gateway.chat(&chat_body(model, false)).await,
            404,
            "model_not_found",
        )
        .await;
        assert_eq!(body["error"]["param"], "model");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("provider/model")
        );
    }
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn paths_without_v1_are_served_too() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let response = gateway
        .client
        .post(gateway.url("/chat/completions"))
        .json(&chat_body("deepseek-chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let models: Value = gateway.get_json("/models").await;
    assert_eq!(models["object"], "list");
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn forwarded_headers_are_an_allow_list() {
    let mock = MockUpstream::start().await;
    let toml = r#"
[providers.openrouter]
headers = { "X-Team" = "research" }
"#;
    let gateway = Setup::on(&mock).config(toml).start().await;
    let response = gateway
        .chat_request()
        .header("http-referer", "https://example.test/app")
        .header("x-title", "My App")
        .header("cookie", "session=secret")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-request-id", "client-req-1")
        .json(&chat_body("openrouter/openai/gpt-4o-mini", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "client-req-1");
    let seen = mock.single();
    assert_eq!(
        seen.header("http-referer").unwrap(),
        "https://example.test/app"
    );
    assert_eq!(seen.header("x-title").unwrap(), "My App");
    assert_eq!(seen.header("x-team").unwrap(), "research");
    assert_eq!(seen.header("cookie"), None);
    assert_eq!(seen.header("x-forwarded-for"), None);
    assert_eq!(seen.header("x-request-id"), None);
}
