//! Web pages: only allowed origins may call, and they get CORS headers.

use crate::common::*;
use crate::mock_upstream::*;

#[tokio::test]
async fn a_foreign_page_cannot_spend_the_users_keys() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    // A "simple" cross-site POST that a browser sends without preflight.
    let response = gateway
        .chat_request()
        .header("origin", "https://evil.example")
        .header("content-type", "text/plain")
        .body(chat_body("gpt-4.1", false).to_string())
        .send()
        .await
        .unwrap();
    let error = expect_error(response, 403, "origin_not_allowed").await;
    assert_eq!(error["error"]["type"], "permission_error");
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn desktop_apps_and_local_pages_get_cors() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let preflight = gateway
        .client
        .request(
            reqwest::Method::OPTIONS,
            gateway.url("/v1/chat/completions"),
        )
        .header("origin", "app://cherry-studio")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        "app://cherry-studio"
    );
    assert!(header(&preflight, "access-control-allow-headers").contains("authorization"));

    let response = gateway
        .chat_request()
        .header("origin", "http://localhost:5173")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert!(header(&response, "access-control-expose-headers").contains("x-request-id"));
}

#[tokio::test]
async fn with_access_keys_any_origin_may_call_with_a_key() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", "k1")
        .config("cors_origins = []")
        .start()
        .await;
    let send = |key: Option<&'static str>| {
        let mut request = gateway
            .chat_request()
            .header("origin", "https://my-ui.example")
            .json(&chat_body("gpt-4.1", false));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    expect_error(send(None).await.unwrap(), 401, "invalid_api_key").await;
    assert_eq!(send(Some("k1")).await.unwrap().status(), 200);
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn configured_origins_are_allowed_in_open_mode() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("cors_origins = [\"https://my-ui.example\"]")
        .start()
        .await;
    let response = gateway
        .client
        .get(gateway.url("/v1/models"))
        .header("origin", "https://my-ui.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://my-ui.example"
    );
}

#[tokio::test]
async fn origin_null_is_refused_in_open_mode_and_allowed_with_a_key_or_by_name() {
    let mock = MockUpstream::start().await;
    let open = Setup::on(&mock).start().await;
    // A sandboxed iframe or a data: page: any web page can send this.
    let response = open
        .chat_request()
        .header("origin", "null")
        .header("content-type", "text/plain")
        .body(chat_body("gpt-4.1", false).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let error = expect_error(response, 403, "origin_not_allowed").await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ACCESS_API_KEYS") && message.contains("cors_origins"),
        "{message}"
    );
    let preflight = open
        .client
        .request(reqwest::Method::OPTIONS, open.url("/v1/chat/completions"))
        .header("origin", "null")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    expect_error(preflight, 403, "origin_not_allowed").await;
    assert_eq!(mock.hits(), 0);

    // Cherry Studio's packaged app loads its window from a file.
    let cherry = open
        .chat_request()
        .header("origin", "file://")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(cherry.status(), 200);
    assert_eq!(header(&cherry, "access-control-allow-origin"), "file://");

    let keyed = Setup::on(&mock).env("ACCESS_API_KEYS", "k1").start().await;
    let with_key = keyed
        .chat_request()
        .header("origin", "null")
        .bearer_auth("k1")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 200);
    assert_eq!(header(&with_key, "access-control-allow-origin"), "null");

    let listed = Setup::on(&mock)
        .config("cors_origins = [\"null\"]")
        .start()
        .await;
    let response = listed
        .chat_request()
        .header("origin", "null")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.hits(), 3);
}

/// A GET to `path` naming `host` in its `Host` header.
async fn get_as(gateway: &Gateway, path: &str, host: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = gateway.client.get(gateway.url(path)).header("host", host);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn open_mode_answers_only_to_loopback_host_names() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let port = gateway.addr.port();
    // A DNS-rebinding page: same-origin to the browser, but its own name.
    for path in ["/api/stats", "/metrics", "/health", "/v1/models"] {
        let response = get_as(&gateway, path, "evil.example", None).await;
        let error = expect_error(response, 403, "host_not_allowed").await;
        assert_eq!(error["error"]["type"], "permission_error");
        let response = get_as(&gateway, path, &format!("evil.example:{port}"), None).await;
        expect_error(response, 403, "host_not_allowed").await;
    }
    let response = gateway
        .chat_request()
        .header("host", "evil.example")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    expect_error(response, 403, "host_not_allowed").await;
    assert_eq!(mock.hits(), 0);
    for host in [
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let response = get_as(&gateway, "/health", &host, None).await;
        assert_eq!(response.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn allowed_hosts_add_names_and_apply_with_access_keys_only_when_given() {
    let mock = MockUpstream::start().await;
    let listed = Setup::on(&mock)
        .config("[server]\nallowed_hosts = [\"llm.internal\"]\n")
        .start()
        .await;
    let port = listed.addr.port();
    let response = get_as(&listed, "/health", &format!("llm.internal:{port}"), None).await;
    assert_eq!(response.status(), 200);
    let response = get_as(&listed, "/health", "other.internal", None).await;
    expect_error(response, 403, "host_not_allowed").await;

    let keyed = Setup::on(&mock).env("ACCESS_API_KEYS", "k1").start().await;
    let response = get_as(&keyed, "/v1/models", "gateway.example.com", Some("k1")).await;
    assert_eq!(response.status(), 200, "the key protects, any host");

    let keyed_listed = Setup::on(&mock)
        .env("ACCESS_API_KEYS", "k1")
        .config("[server]\nallowed_hosts = [\"gateway.example.com\"]\n")
        .start()
        .await;
    let response = get_as(
        &keyed_listed,
        "/v1/models",
        "gateway.example.com",
        Some("k1"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = get_as(&keyed_listed, "/v1/models", "evil.example", Some("k1")).await;
    expect_error(response, 403, "host_not_allowed").await;
    let response = get_as(&keyed_listed, "/health", "localhost", None).await;
    assert_eq!(response.status(), 200);
}
