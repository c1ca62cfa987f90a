//! Every error the gateway produces, with its exact status and code, and
//! upstream errors passed through unchanged.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

async fn post_raw(gateway: &Gateway, body: impl Into<reqwest::Body>) -> reqwest::Response {
    gateway
        .chat_request()
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_and_incomplete_bodies_are_400() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let cases: &[(&[u8], &str, Option<&str>)] = &[
        (b"{not json", "invalid_json", None),
        (b"", "invalid_json", None),
        (b"[]", "invalid_json", None),
        (b"\xff\xfe{}", "invalid_json", None),
        (
            br#"{"model":"a","model":"gpt-4.1","messages":[]}"#,
            "invalid_json",
            None,
        ),
        (br#"{"messages":[]}"#, "invalid_parameter", Some("model")),
        (
            br#"{"model":null,"messages":[]}"#,
            "invalid_parameter",
            Some("model"),
        ),
        (
            br#"{"model":"gpt-4.1"}"#,
            "invalid_parameter",
            Some("messages"),
        ),
        (
            br#"{"model":"gpt-4.1","messages":{}}"#,
            "invalid_parameter",
            Some("messages"),
        ),
        (
            br#"{"model":"gpt-4.1","messages":[],"stream":1}"#,
            "invalid_parameter",
            Some("stream"),
        ),
        (
            br#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":"usage"}"#,
            "invalid_parameter",
            Some("stream_options"),
        ),
        (
            br#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":[true]}"#,
            "invalid_parameter",
            Some("stream_options"),
        ),
        (
            br#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_usage":1}}"#,
            "invalid_parameter",
            Some("stream_options"),
        ),
    ];
    for (body, code, param) in cases {
        let error = expect_error(post_raw(&gateway, body.to_vec()).await, 400, code).await;
        assert_eq!(
            error["error"]["param"],
            json!(param),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    let deep = format!(
        r#"{{"model":"gpt-4.1","messages":{}{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    expect_error(post_raw(&gateway, deep).await, 400, "invalid_json").await;
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("max_body_bytes = 1000")
        .start()
        .await;
    let big =
        json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x".repeat(2000)}]});
    expect_error(gateway.chat(&big).await, 413, "request_too_large").await;

    // Without a content-length the limit holds while reading.
    let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.to_string())]);
    let response = post_raw(&gateway, reqwest::Body::wrap_stream(chunks)).await;
    expect_error(response, 413, "request_too_large").await;

    // Just under the limit still works.
    let small =
        json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x".repeat(900)}]});
    assert_eq!(gateway.chat(&small).await.status(), 200);
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn the_default_limit_is_ten_mebibytes() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let over = format!(
        r#"{{"model":"gpt-4.1","messages":[],"pad":"{}"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    expect_error(post_raw(&gateway, over).await, 413, "request_too_large").await;
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn an_unreachable_upstream_is_502() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("DEEPSEEK_BASE_URL", &format!("http://{closed}/v1"))
        .start()
        .await;
    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.headers()["x-llm-bridge-provider"], "deepseek");
    let body = expect_error(response, 502, "upstream_unreachable").await;
    assert_eq!(body["error"]["type"], "upstream_error");
}

#[tokio::test]
async fn a_silent_upstream_is_504() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::Stall);
    let gateway = Setup::on(&mock)
        .config("first_byte_timeout_secs = 1\n[retry]\nmax_retries = 0")
        .start()
        .await;
    let started = std::time::Instant::now();
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    expect_error(response, 504, "upstream_timeout").await;
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn upstream_errors_pass_through_unchanged() {
    let mock = MockUpstream::start().await;
    // Retries off: each scripted error is the final answer.
    let gateway = Setup::on(&mock)
        .config("[retry]\nmax_retries = 0")
        .start()
        .await;
    let cases = [
        (
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature", "code": null}}),
        ),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "Incorrect API key", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"message": "slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}),
        ),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}),
        ),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"detail": "overloaded"}),
        ),
    ];
    for (status, body) in cases {
        mock.push_reply(Reply::Json(status, body.clone()));
        let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["x-llm-bridge-provider"], "openai");
        assert_eq!(response.json::<Value>().await.unwrap(), body);
    }
    mock.push_reply(Reply::Raw(
        StatusCode::BAD_GATEWAY,
        "text/html",
        "<h1>502</h1>".into(),
    ));
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await.unwrap(), "<h1>502</h1>");
}

#[tokio::test]
async fn unknown_urls_and_methods_get_openai_errors() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let response = gateway
        .client
        .get(gateway.url("/v1/embeddingz"))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 404, "unknown_url").await;
    assert_eq!(
        body["error"]["message"],
        format!(
            "unknown URL: GET /v1/embeddingz. Endpoints: {}",
            crate::cli::EVERY_ENDPOINT.join(", ")
        )
    );
    let response = gateway
        .client
        .get(gateway.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    expect_error(response, 405, "method_not_allowed").await;
}

/// A body each POST endpoint answers with 200 (from the mock's defaults).
fn valid_body(path: &str) -> Value {
    let model = "deepseek-chat";
    let messages = json!([{"role": "user", "content": "hi"}]);
    match path {
        "/v1/completions" => json!({"model": model, "prompt": "hi"}),
        "/v1/embeddings" => json!({"model": model, "input": "hi"}),
        "/v1/messages" => json!({"model": model, "max_tokens": 10, "messages": messages}),
        "/v1/messages/count_tokens" => json!({"model": model, "messages": messages}),
        "/v1/responses" => json!({"model": model, "input": "hi"}),
        "/api/keys" => json!({"set": {"OPENAI_API_KEY": "sk-x"}}),
        _ => chat_body(model, false),
    }
}

#[tokio::test]
async fn every_listed_endpoint_is_routed() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    // An entry for the routes that name one.
    let answer = gateway.chat(&chat_body("gpt-4.1", false)).await;
    let (_, key) = cache_status(&answer);
    let request_id = header(&answer, "x-request-id");
    answer.text().await.unwrap();
    gateway.cache_written().await;
    // Its usage record, for /api/requests/{id}, is written as it ends.
    tokio::time::timeout(PATIENCE, async {
        while gateway.get_json("/api/requests").await["requests"] == json!([]) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the request was recorded in time");
    for endpoint in llm_bridge::wiring::router::ENDPOINTS {
        let (method, path) = endpoint.split_once(' ').unwrap();
        let path = path
            .replace("/api/requests/{id}", &format!("/api/requests/{request_id}"))
            .replace("{id}", "deepseek/deepseek-chat")
            .replace("{key}", &key);
        let request = match method {
            "GET" => gateway.client.get(gateway.url(&path)),
            "DELETE" => gateway.client.delete(gateway.url(&path)),
            "POST" => gateway
                .client
                .post(gateway.url(&path))
                .json(&valid_body(&path)),
            other => panic!("{other}"),
        };
        let response = request.send().await.unwrap();
        if path == "/api/keys" || path == "/api/reload" {
            // In-process there is no `.env` to change: the real binary's
            // answers are tested in dashboard_keys.
            expect_error(response, 503, "unavailable").await;
            continue;
        }
        assert_eq!(response.status(), 200, "{endpoint}");
    }
}

#[tokio::test]
async fn hostile_request_ids_are_replaced() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    for id in ["a b", "x".repeat(300).as_str(), "id\"with;quote"] {
        let response = gateway
            .client
            .get(gateway.url("/health"))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_ne!(echoed, id);
        assert_eq!(echoed.len(), 32);
    }
}

#[tokio::test]
async fn a_404_page_from_a_base_url_without_v1_says_to_check_the_url() {
    let mock = MockUpstream::start().await;
    // A user who wrote the server's address without its `/v1`.
    let base = mock.url("/openai");
    let gateway = Setup::on(&mock).env("OPENAI_BASE_URL", &base).start().await;
    mock.push_reply(Reply::Raw(
        StatusCode::NOT_FOUND,
        "text/plain",
        "404 page not found".into(),
    ));
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    let error = expect_error(response, 404, "upstream_not_found").await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(&base), "{message}");
    assert!(message.contains(&format!("{base}/v1")), "{message}");

    // An API's own 404 (a model it does not have) is relayed as it is.
    let missing_model = json!({"error": {"message": "The model `gpt-9` does not exist",
        "type": "invalid_request_error", "param": null, "code": "model_not_found"}});
    mock.push_reply(Reply::Json(StatusCode::NOT_FOUND, missing_model.clone()));
    let response = gateway.chat(&chat_body("gpt-9", false)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap(), missing_model);
    assert_eq!(mock.hits(), 2);
}
