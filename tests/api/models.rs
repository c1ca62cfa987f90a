//! `/v1/models` and `/health`.

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn get_json(gateway: &Gateway, path: &str) -> Value {
    let response = gateway
        .client
        .get(gateway.url(path))
        .bearer_auth("k1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn models_lists_providers_with_keys_declared_providers_and_aliases() {
    let mock = MockUpstream::start().await;
    let toml = format!(
        r#"
[aliases]
sonnet = "openrouter/anthropic/claude-3.5-sonnet"

[providers.deepseek]
models = ["deepseek-chat"]

[providers.ollama]
base_url = "{}"
models = ["llama3.2", "qwen2.5:7b"]
"#,
        mock.url("/ollama/v1")
    );
    let gateway = Setup::default()
        .env("OPENROUTER_API_KEY", "sk-or")
        .env("ACCESS_API_KEYS", "k1")
        .config(&toml)
        .start()
        .await;
    let list = get_json(&gateway, "/v1/models").await;
    assert_eq!(list["object"], "list");
    let ids = ids(&list);
    assert!(ids.contains(&"openrouter/anthropic/claude-3.5-sonnet".to_string()));
    assert!(ids.contains(&"ollama/qwen2.5:7b".to_string()));
    assert!(ids.contains(&"sonnet".to_string()));
    // A built-in with a section but no key is declared, so listed, with the
    // config's list replacing the default one.
    assert!(ids.contains(&"deepseek/deepseek-chat".to_string()));
    assert!(!ids.contains(&"deepseek/deepseek-reasoner".to_string()));
    assert!(
        !ids.iter().any(|id| id.starts_with("openai/")),
        "no key, no section: {ids:?}"
    );
    for model in list["data"].as_array().unwrap() {
        assert_eq!(model["object"], "model");
        assert!(model["created"].is_u64());
        assert!(model["owned_by"].is_string());
    }

    let one = get_json(&gateway, "/v1/models/ollama/llama3.2").await;
    assert_eq!(one["id"], "ollama/llama3.2");
    let missing = gateway
        .client
        .get(gateway.url("/v1/models/nope/x"))
        .bearer_auth("k1")
        .send()
        .await
        .unwrap();
    expect_error(missing, 404, "model_not_found").await;
}

#[tokio::test]
async fn with_nothing_configured_every_builtin_is_listed_for_passthrough() {
    let gateway = Setup::default().start().await;
    let ids = ids(&get_json(&gateway, "/v1/models").await);
    for id in [
        "openai/gpt-4.1",
        "deepseek/deepseek-chat",
        "qwen/qwen-plus",
        "gemini/gemini-2.5-flash",
        "openrouter/anthropic/claude-3.5-sonnet",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
    }
}

#[tokio::test]
async fn health_shows_providers_and_never_a_key() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .without("GOOGLE_API_KEY")
        .env("ACCESS_API_KEYS", "access-secret-1")
        .env(
            "QWEN_BASE_URL",
            &format!("http://user:proxy-pass@{}/qwen/v1", mock.addr),
        )
        .start()
        .await;
    let response = gateway
        .client
        .get(gateway.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for secret in [
        OPENAI_KEY,
        DEEPSEEK_KEY,
        OPENROUTER_KEY,
        QWEN_KEY,
        "access-secret-1",
        "proxy-pass",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let health: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["access_keys_required"], true);
    assert_eq!(health["cache_mode"], "read-write");
    let find = |name: &str| provider(&health, name);
    assert_eq!(find("openai")["has_key"], true);
    assert_eq!(find("gemini")["has_key"], false);
    assert_eq!(
        find("qwen")["has_key"],
        true,
        "DASHSCOPE_API_KEY counts for qwen"
    );
}
