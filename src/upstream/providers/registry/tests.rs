use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;

/// A provider of that name (OpenAI-compatible, no key).
fn named(name: &str) -> Arc<Provider> {
    // reqwest is built without a crypto provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = crate::config::Config::from_parts(
        &crate::config::Overrides::default(),
        &crate::config::Env::default(),
        None,
    )
    .unwrap();
    let mut provider = config.providers[0].clone();
    provider.name = name.to_string();
    Arc::new(Provider::new(&provider).unwrap())
}

fn registry(default: Option<&str>) -> Registry {
    let providers: Vec<Arc<Provider>> = [
        "openai",
        "deepseek",
        "openrouter",
        "qwen",
        "gemini",
        "local",
    ]
    .into_iter()
    .map(named)
    .collect();
    let mut aliases = BTreeMap::new();
    aliases.insert(
        "gpt-fast".to_string(),
        ModelTarget {
            provider: "local".into(),
            model: "llama".into(),
        },
    );
    Registry::new(providers, aliases, default)
}

fn route(registry: &Registry, model: &str) -> Option<(String, String)> {
    registry
        .resolve(model)
        .ok()
        .map(|r| (r.provider.name().to_string(), r.upstream_model))
}

#[test]
fn routing_order() {
    let r = registry(None);
    let pair = |p: &str, m: &str| Some((p.to_string(), m.to_string()));
    assert_eq!(
        route(&r, "openrouter/openai/gpt-4o"),
        pair("openrouter", "openai/gpt-4o")
    );
    assert_eq!(
        route(&r, "gpt-fast"),
        pair("local", "llama"),
        "alias before prefix"
    );
    assert_eq!(route(&r, "gpt-4.1"), pair("openai", "gpt-4.1"));
    assert_eq!(route(&r, "o3-mini"), pair("openai", "o3-mini"));
    assert_eq!(route(&r, "qwen-max"), pair("qwen", "qwen-max"));
    assert_eq!(
        route(&r, "deepseek-reasoner"),
        pair("deepseek", "deepseek-reasoner")
    );
    assert_eq!(
        route(&r, "gemini-2.5-pro"),
        pair("gemini", "gemini-2.5-pro")
    );
    assert_eq!(route(&r, "llama3"), None);
    assert_eq!(route(&r, "meta/llama3"), None);
    assert_eq!(route(&r, "deepseek/"), None);

    let with_default = registry(Some("local"));
    assert_eq!(
        route(&with_default, "meta/llama3"),
        pair("local", "meta/llama3")
    );
    assert_eq!(
        route(&with_default, "gpt-4.1"),
        pair("openai", "gpt-4.1"),
        "prefix before default"
    );
}

#[test]
fn the_model_name_never_picks_a_host() {
    let r = registry(None);
    for hostile in [
        "http://evil.test/v1",
        "openai/../../evil",
        "openai/%2e%2e/evil",
        "//evil.test/x",
        "openai/https://evil.test",
    ] {
        if let Ok(found) = r.resolve(hostile) {
            assert_eq!(found.provider.name(), "openai", "{hostile}");
        }
    }
}
