//! Fills a cache folder with entries for the cache benchmark
//! (`bench/cache.sh`), as fast as the disk allows.
//!
//! ```text
//! cargo run --release --example cache_fill -- --dir DIR --count N --base-url URL
//! ```
//! Entry `i` answers `{"model":"gpt-4.1","messages":[{"role":"user",
//! "content":"question i"}]}` sent to llm-bridge with `OPENAI_BASE_URL=URL`
//! and no access keys: keys are derived by llm-bridge's own code, so the
//! server finds them. Files are written directly (no fsync), which is fine
//! for a benchmark folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Bytes;
use llm_bridge::api::openai_chat::ChatBody;
use llm_bridge::cache::entry::ENTRY_FORMAT;
use llm_bridge::cache::key::{KeyContext, derive};
use llm_bridge::cache::{CacheEntry, EntryMeta};
use llm_bridge::config::{Config, Env, Overrides};
use llm_bridge::upstream::Registry;
use llm_bridge::wire::BodyKind;

fn main() {
    let mut dir = None;
    let mut count = 100usize;
    let mut base_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => dir = Some(std::path::PathBuf::from(value)),
            "--count" => count = value.parse().expect("--count: a number"),
            "--base-url" => base_url = Some(value),
            other => panic!("unknown option {other}"),
        }
    }
    let dir = dir.expect("--dir is required");
    let base_url = base_url.expect("--base-url is required");
    std::fs::create_dir_all(&dir).unwrap();

    // The provider as the server will see it, for its public base URL.
    let env = Env::from_pairs([("OPENAI_BASE_URL", base_url.as_str())]);
    let config = Config::from_parts(&Overrides::default(), &env, None).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = Registry::from_config(&config).unwrap();
    let route = registry.resolve("gpt-4.1").unwrap();
    let public_base_url = route.provider.public_base_url().to_string();

    for i in 0..count {
        let request = format!(
            r#"{{"model":"gpt-4.1","messages":[{{"role":"user","content":"question {i}"}}]}}"#
        );
        let body = ChatBody::parse(Bytes::from(request.clone())).unwrap();
        let key = derive(
            KeyContext {
                endpoint: "chat/completions",
                provider: "openai",
                base_url: &public_base_url,
                upstream_model: "gpt-4.1",
                scope: "shared",
                ignored_fields: &config.cache.ignore_fields,
            },
            body.fields(),
        )
        .unwrap();
        let answer = format!(
            r#"{{"id":"chatcmpl-{i}","object":"chat.completion","created":1700000000,"model":"gpt-4.1","choices":[{{"index":0,"message":{{"role":"assistant","content":"Answer number {i}, from the cache."}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}}}"#
        );
        let entry = CacheEntry::seal(
            EntryMeta {
                format: ENTRY_FORMAT,
                key: key.to_string(),
                created_ms: 1_700_000_000_000,
                created: "2023-11-14T22:13:20.000Z".into(),
                status: 200,
                content_type: "application/json".into(),
                kind: BodyKind::Json,
                wire: Default::default(),
                provider: "openai".into(),
                upstream_model: "gpt-4.1".into(),
                model: "gpt-4.1".into(),
                usage: None,
                ttfb_ms: None,
                latency_ms: 500.0,
                bytes: 0,
                sha256: String::new(),
                chunks: Vec::new(),
            },
            Bytes::from(answer),
        );
        std::fs::write(dir.join(format!("{key}.request")), &request).unwrap();
        std::fs::write(dir.join(format!("{key}.txt")), &entry.body).unwrap();
        std::fs::write(
            dir.join(format!("{key}.meta.json")),
            serde_json::to_vec_pretty(&entry.meta).unwrap(),
        )
        .unwrap();
    }
    println!("{count} entries in {}", dir.display());
}
