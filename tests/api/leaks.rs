//! Secrets that must never leave: credentials in base URLs (start-up,
//! reload, `/health`), and provider keys an upstream echoes back in its
//! answers (bodies, headers, stream events, the request log).

use serde_json::json;

use crate::binary::Binary;
use crate::command::{folder_with, run};
use crate::common::*;
use crate::mock_upstream::*;

/// A URL whose userinfo and query carry secrets, and fails validation.
const LEAKY_URL: &str = "http://user:PASSWORD-CANARY@example.com/v1?key=QUERY-CANARY";

#[tokio::test]
async fn a_bad_base_url_is_reported_without_its_credentials() {
    let dir = folder_with(".env", &format!("OPENAI_BASE_URL={LEAKY_URL}\n"));
    let output = run(dir.path(), &["--listen", "127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OPENAI_BASE_URL"), "{stderr}");
    assert!(stderr.contains("http://example.com/v1?key=…"), "{stderr}");
    assert!(
        !stderr.contains("CANARY") && !stderr.contains("user:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bad_base_url_on_reload_and_a_good_one_on_health_show_no_credentials() {
    let mock = MockUpstream::start().await;
    let with_userinfo = mock
        .url("/deepseek/v1")
        .replace("http://", "http://user:PASSWORD-CANARY@");
    let mut binary = Binary::start_with(&mock, "", None).await;
    let config = format!("[providers.corp]\nbase_url = \"{with_userinfo}\"\n");
    replace_file(&binary.dir.path().join("llm-bridge.toml"), &config);
    binary.logged("configuration reloaded").await;
    let health = binary.health().await;
    let text = health.to_string();
    assert!(!text.contains("CANARY"), "{text}");
    assert!(text.contains(&mock.url("/deepseek/v1")), "{text}");

    let config = format!("[providers.corp]\nbase_url = \"{LEAKY_URL}\"\n");
    replace_file(&binary.dir.path().join("llm-bridge.toml"), &config);
    let line = binary.logged("configuration reload failed").await;
    assert!(line.contains("providers.corp.base_url"), "{line}");
    assert!(!line.contains("CANARY"), "{line}");
}

/// Writes `path` whole at once (temp file and rename), so the server's
/// poll never reads it half-written.
fn replace_file(path: &std::path::Path, text: &str) {
    let temp = path.with_extension("partial");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// Provider keys long enough to be real, and easy to spot.
const CANARY: &str = "sk-canary-openai-0123456789abcdef";
const CANARY_MASK: &str = "sk-…cdef";
const CLIENT_CANARY: &str = "sk-canary-client-own-key-fedcba98";

/// Replies that each quote `key` somewhere a client would see it.
fn echoing_replies(key: &str) -> Vec<Reply> {
    let error = |status: u16| {
        Reply::Json(
            reqwest::StatusCode::from_u16(status).unwrap(),
            json!({"error": {"message": format!("Incorrect API key provided: {key}."),
                "type": "invalid_request_error", "code": "invalid_api_key"}}),
        )
    };
    vec![
        error(401),
        error(400),
        error(403),
        Reply::WithHeaders(vec![("retry-after", "60".into())], Box::new(error(429))),
        error(500),
        Reply::Raw(
            reqwest::StatusCode::BAD_GATEWAY,
            "text/html",
            format!("<html><body>bad key {key}</body></html>"),
        ),
        Reply::Json(
            reqwest::StatusCode::OK,
            json!({"error": {"message": format!("key {key}")}}),
        ),
        Reply::WithHeaders(
            vec![("x-ratelimit-note", format!("for {key}"))],
            Box::new(Reply::Json(
                reqwest::StatusCode::OK,
                completion("gpt-4.1", "hi"),
            )),
        ),
    ]
}

/// Sends one request per reply and returns every response's headers and
/// body as one text.
async fn collect(
    gateway: &Gateway,
    mock: &MockUpstream,
    replies: Vec<Reply>,
    key: Option<&str>,
) -> String {
    let mut seen = String::new();
    for (round, reply) in replies.into_iter().enumerate() {
        mock.push_reply(reply);
        let mut request = gateway
            .chat_request()
            .json(&json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": format!("{round}")}]}));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        for (name, value) in response.headers() {
            seen.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
        }
        seen.push_str(&response.text().await.unwrap());
        seen.push('\n');
    }
    seen
}

#[tokio::test]
async fn provider_keys_an_upstream_echoes_are_masked_everywhere() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("OPENAI_API_KEY", CANARY)
        .config("[log]\nlog_bodies = true\n[retry]\nmax_retries = 0\n")
        .start()
        .await;
    let mut seen = collect(&gateway, &mock, echoing_replies(CANARY), None).await;
    // A streamed error event, the key split across two chunks.
    let (head, tail) = CANARY.split_at(12);
    mock.push_reply(Reply::Sse(vec![
        sse_event(&content_chunk("gpt-4.1", "partial ")),
        format!("data: {{\"error\":{{\"message\":\"bad key {head}"),
        format!("{tail}\"}}}}\n\n"),
    ]));
    let response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    seen.push_str(&response.text().await.unwrap());

    assert!(!seen.contains(CANARY), "{seen}");
    assert!(
        !seen.contains(&CANARY[10..]),
        "no part of it either: {seen}"
    );
    assert_eq!(seen.matches(CANARY_MASK).count(), 8, "{seen}");
    assert!(seen.contains("x-ratelimit-note: for sk-...cdef"), "{seen}");
    let log = gateway.stop_and_read_log().await;
    assert!(log.contains(CANARY_MASK), "bodies are logged: {log}");
    assert!(
        !log.contains(CANARY) && !log.contains(&CANARY[10..]),
        "{log}"
    );
}

#[tokio::test]
async fn a_passed_through_client_key_is_masked_for_other_clients_eyes() {
    let mock = MockUpstream::start().await;
    // No key of its own: the client's is passed through.
    let gateway = Setup::on(&mock)
        .without("OPENAI_API_KEY")
        .config("[retry]\nmax_retries = 0\n")
        .start()
        .await;
    let seen = collect(
        &gateway,
        &mock,
        echoing_replies(CLIENT_CANARY),
        Some(CLIENT_CANARY),
    )
    .await;
    assert_eq!(
        mock.authorizations()[0],
        format!("Bearer {CLIENT_CANARY}"),
        "passed through"
    );
    assert!(!seen.contains(CLIENT_CANARY), "{seen}");
    assert!(seen.contains("sk-…ba98"), "{seen}");
}
