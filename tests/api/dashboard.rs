//! The dashboard's API: who may call it (keys checked on every route,
//! admin actions, open mode only from this machine), the session, the live
//! feed and the status.

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;
use crate::reader::{extend_until, read_until};

pub const ADMIN_KEY: &str = "adm-key-0123456789";
pub const READER_KEY: &str = "bob-key-0123456789";

/// Built-in providers on `mock`, an admin and a reader key.
pub async fn keyed_gateway(mock: &MockUpstream) -> Gateway {
    Setup::on(mock)
        .env(
            "ACCESS_API_KEYS",
            &format!("root/admin:{ADMIN_KEY},bob:{READER_KEY}"),
        )
        .start()
        .await
}

/// `method path` with `key` as Bearer.
pub fn call(
    gateway: &Gateway,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = gateway.client.request(method, gateway.url(path));
    match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    }
}

/// An answer's JSON, which must come with `status`.
pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    response.json().await.unwrap()
}

/// `GET path` with the one extra header `name: value`.
async fn get_with(gateway: &Gateway, path: &str, name: &str, value: &str) -> reqwest::Response {
    gateway
        .client
        .get(gateway.url(path))
        .header(name, value)
        .send()
        .await
        .unwrap()
}

/// Every dashboard route, as method and path.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/session"),
    ("GET", "/api/live"),
    ("GET", "/api/stats"),
    ("GET", "/api/stats/series"),
    ("GET", "/api/requests"),
    ("GET", "/api/requests/some-request"),
    ("GET", "/api/cache"),
    ("GET", "/api/cache/0123456789abcdef"),
    ("DELETE", "/api/cache/0123456789abcdef"),
    ("POST", "/api/cache/check"),
    ("GET", "/api/status"),
    ("GET", "/api/keys"),
    ("POST", "/api/keys"),
    ("POST", "/api/reload"),
];

#[tokio::test]
async fn every_api_route_wants_a_valid_key_on_every_call() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    for (method, path) in ROUTES {
        let method: reqwest::Method = method.parse().unwrap();
        for key in [None, Some("not-a-key")] {
            let response = call(&gateway, method.clone(), path, key)
                .send()
                .await
                .unwrap();
            expect_error(response, 401, "invalid_api_key").await;
        }
    }
    // The page shell holds no data and loads without a key.
    let page = gateway.client.get(gateway.url("/ui")).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn actions_need_an_admin_key() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let actions = [
        ("POST", "/api/keys"),
        ("POST", "/api/reload"),
        ("DELETE", "/api/cache/0123456789abcdef"),
        ("POST", "/api/cache/check?purge=true"),
    ];
    for (method, path) in actions {
        let method: reqwest::Method = method.parse().unwrap();
        let response = call(&gateway, method, path, Some(READER_KEY))
            .json(&serde_json::json!({"set": {"OPENAI_API_KEY": "sk-x"}}))
            .send()
            .await
            .unwrap();
        expect_error(response, 403, "admin_required").await;
    }
    // Looking is allowed.
    let check = call(
        &gateway,
        reqwest::Method::POST,
        "/api/cache/check",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(check.status(), 200);
    let session = json_of(
        call(
            &gateway,
            reqwest::Method::GET,
            "/api/session",
            Some(READER_KEY),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(session["key_id"], "bob");
    assert_eq!(session["admin"], false);
    assert_eq!(session["access_keys_required"], true);
    let admin = json_of(
        call(
            &gateway,
            reqwest::Method::GET,
            "/api/session",
            Some(ADMIN_KEY),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(admin["key_id"], "root");
    assert_eq!(admin["admin"], true);
}

#[tokio::test]
async fn open_mode_answers_this_machine_only() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let session: Value = gateway.get_json("/api/session").await;
    assert_eq!(session["access_keys_required"], false);
    assert_eq!(session["admin"], true);
    // A desktop app's page may use the chat API, not the dashboard's.
    let app = get_with(&gateway, "/api/status", "origin", "app://cherry-studio").await;
    expect_error(app, 403, "local_only").await;
    let foreign = get_with(&gateway, "/api/status", "origin", "https://evil.example").await;
    expect_error(foreign, 403, "origin_not_allowed").await;
    let rebound = get_with(&gateway, "/api/session", "host", "evil.example").await;
    expect_error(rebound, 403, "host_not_allowed").await;
    let own_page = get_with(
        &gateway,
        "/api/session",
        "origin",
        &format!("http://{}", gateway.addr),
    )
    .await;
    assert_eq!(own_page.status(), 200);
}

#[tokio::test]
async fn the_live_feed_pushes_each_request_as_it_ends_without_bodies() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let mut feed = call(
        &gateway,
        reqwest::Method::GET,
        "/api/live",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(header(&feed, "content-type").starts_with("text/event-stream"));
    // The dashboard's own calls are not in the feed.
    let status = call(
        &gateway,
        reqwest::Method::GET,
        "/api/status",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(status.status(), 200);
    let answer = gateway
        .chat_request()
        .bearer_auth(ADMIN_KEY)
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    let request_id = header(&answer, "x-request-id");
    answer.text().await.unwrap();
    let mut seen = read_until(&mut feed, "event: request").await;
    while !seen
        .split("event: request")
        .nth(1)
        .unwrap()
        .contains("\n\n")
    {
        extend_until(&mut feed, &mut seen, "\n\n").await;
    }
    let event = first_event(&seen);
    let row = &event["request"];
    assert_eq!(row["request_id"], request_id.as_str());
    assert_eq!(row["endpoint"], "chat/completions");
    assert_eq!(row["key_name"], "root");
    assert_eq!(row["model_asked"], "gpt-4.1");
    assert_eq!(row["provider"], "openai");
    assert_eq!(row["cache"], "MISS");
    assert_eq!(row["status"], 200);
    assert!(row["prompt_tokens"].is_u64(), "{row}");
    assert!(row["total_ms"].is_f64(), "{row}");
    let log = &event["log"];
    assert_eq!(log["path"], "/v1/chat/completions");
    assert_eq!(log["outcome"], "complete");
    assert!(log.get("request_body").is_none(), "no bodies: {log}");
    assert!(!seen.contains("/api/status"), "{seen}");
}

/// The first `event: request`'s data.
fn first_event(text: &str) -> Value {
    let data = text
        .split("\n\n")
        .find(|block| block.starts_with("event: request"))
        .and_then(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .unwrap_or_else(|| panic!("no request event in {text}"));
    serde_json::from_str(data).unwrap()
}

#[tokio::test]
async fn status_shows_providers_keys_masked_and_no_secret() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let response = call(
        &gateway,
        reqwest::Method::GET,
        "/api/status",
        Some(READER_KEY),
    )
    .send()
    .await
    .unwrap();
    let text = response.text().await.unwrap();
    for secret in [OPENAI_KEY, ANTHROPIC_KEY, ADMIN_KEY, READER_KEY] {
        assert!(!text.contains(secret), "{secret} shown");
    }
    let status: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["listen"], gateway.addr.to_string());
    assert_eq!(status["cache_mode"], "read-write");
    let providers = status["providers"].as_array().unwrap();
    let openai = providers.iter().find(|p| p["name"] == "openai").unwrap();
    assert_eq!(openai["kind"], "openai");
    assert_eq!(openai["keys"], serde_json::json!(["…1111"]));
    assert_eq!(openai["has_key"], true);
    let anthropic = providers.iter().find(|p| p["name"] == "anthropic").unwrap();
    assert_eq!(anthropic["kind"], "anthropic");
    let keys = status["access_keys"].as_array().unwrap();
    assert_eq!(keys[0]["name"], "root");
    assert_eq!(keys[0]["admin"], true);
    assert_eq!(keys[1]["name"], "bob");
    assert_eq!(keys[1]["admin"], false);
    assert!(status["config"].as_str().unwrap().contains("listen"));
    assert_eq!(status["live"]["viewers"], 0);
}
