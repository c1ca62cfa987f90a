//! Web pages: only allowed origins may call, and they get CORS headers.

use crate::common::*;
use crate::mock_upstream::*;

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_string()
}

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
