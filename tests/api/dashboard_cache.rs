//! The dashboard's cache routes and its page files.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::dashboard::{ADMIN_KEY, READER_KEY, call, json_of, keyed_gateway};
use crate::mock_upstream::*;

/// Stores one streamed and one whole answer; returns their keys.
async fn two_entries(gateway: &Gateway) -> (String, String) {
    let mut keys = Vec::new();
    for stream in [true, false] {
        let mut body = chat_body("gpt-4.1", stream);
        body["messages"][0]["content"] = json!(format!("needle-{stream}"));
        let response = gateway
            .chat_request()
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        keys.push(cache_status(&response).1);
        response.text().await.unwrap();
    }
    gateway.cache_written().await;
    (keys[0].clone(), keys[1].clone())
}

#[tokio::test]
async fn list_search_show_and_delete_entries() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let (streamed, whole) = two_entries(&gateway).await;
    let get = |path: &str| call(&gateway, Method::GET, path, Some(READER_KEY)).send();

    let all = json_of(get("/api/cache").await.unwrap(), 200).await;
    assert_eq!(all["entries"], 2);
    assert_eq!(all["matches"], 2);
    assert!(all["bytes"].as_u64().unwrap() > 0);
    assert_eq!(all["items"][0]["key"], whole.as_str(), "newest first");
    let found = json_of(get("/api/cache?q=NEEDLE-TRUE").await.unwrap(), 200).await;
    assert_eq!(found["matches"], 1);
    assert_eq!(found["items"][0]["key"], streamed.as_str());
    assert_eq!(found["items"][0]["kind"], "sse");
    let by_prefix = json_of(
        get(&format!("/api/cache?prefix={}", &whole[..10]))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(by_prefix["matches"], 1);
    let by_model = json_of(get("/api/cache?model=gpt-9").await.unwrap(), 200).await;
    assert_eq!(by_model["matches"], 0);

    let shown = json_of(
        get(&format!("/api/cache/{}", &streamed[..8]))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(shown["key"], streamed.as_str());
    assert_eq!(shown["request"]["messages"][0]["content"], "needle-true");
    assert_eq!(shown["response"]["kind"], "sse");
    let events = shown["response"]["events"].as_array().unwrap();
    assert!(events.len() > 2, "{events:?}");
    assert!(events[0]["offset_ms"].is_u64(), "{events:?}");
    assert_eq!(events.last().unwrap()["data"], "[DONE]");
    let whole_shown = json_of(get(&format!("/api/cache/{whole}")).await.unwrap(), 200).await;
    assert_eq!(whole_shown["response"]["kind"], "json");
    assert_eq!(whole_shown["response"]["body"]["object"], "chat.completion");

    let deleted = call(
        &gateway,
        Method::DELETE,
        &format!("/api/cache/{whole}"),
        Some(ADMIN_KEY),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(json_of(deleted, 200).await["deleted"], whole.as_str());
    let gone = get(&format!("/api/cache/{whole}")).await.unwrap();
    expect_error(gone, 404, "not_found").await;
    let again = call(
        &gateway,
        Method::DELETE,
        &format!("/api/cache/{whole}"),
        Some(ADMIN_KEY),
    )
    .send()
    .await
    .unwrap();
    expect_error(again, 404, "not_found").await;
    let repeat = gateway
        .chat_request()
        .bearer_auth(ADMIN_KEY)
        .json(&{
            let mut body = chat_body("gpt-4.1", false);
            body["messages"][0]["content"] = json!("needle-false");
            body
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        cache_status(&repeat).0,
        "MISS",
        "the deleted answer is asked again"
    );
}

#[tokio::test]
async fn bad_cache_parameters_are_named() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let (streamed, _) = two_entries(&gateway).await;
    let get = |path: String| call(&gateway, Method::GET, &path, Some(READER_KEY)).send();
    for (path, status, code) in [
        ("/api/cache/not-hex".to_string(), 400, "invalid_parameter"),
        ("/api/cache/abc".to_string(), 400, "invalid_parameter"),
        (
            format!("/api/cache/{}0", streamed),
            400,
            "invalid_parameter",
        ),
        ("/api/cache/0000000000".to_string(), 404, "not_found"),
        ("/api/cache?limit=0".to_string(), 400, "invalid_parameter"),
        (
            "/api/cache?limit=lots".to_string(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/cache?prefix=xyz".to_string(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/stats?since=soon".to_string(),
            400,
            "invalid_parameter",
        ),
    ] {
        let response = get(path.clone()).await.unwrap();
        let body = expect_error(response, status, code).await;
        assert!(body["error"]["message"].is_string(), "{path}");
    }
    let purge = call(
        &gateway,
        Method::POST,
        "/api/cache/check?purge=maybe",
        Some(ADMIN_KEY),
    )
    .send()
    .await
    .unwrap();
    expect_error(purge, 400, "invalid_parameter").await;
}

#[tokio::test]
async fn check_finds_a_damaged_entry_and_purge_removes_it() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let (streamed, _) = two_entries(&gateway).await;
    std::fs::write(gateway.cache_dir.join(format!("{streamed}.txt")), "damaged").unwrap();
    let check = |query: &str| {
        call(
            &gateway,
            Method::POST,
            &format!("/api/cache/check{query}"),
            Some(ADMIN_KEY),
        )
        .send()
    };
    let found = json_of(check("").await.unwrap(), 200).await;
    assert_eq!(found["checked"], 2);
    assert_eq!(found["broken"][0]["key"], streamed.as_str());
    assert_eq!(found["purged"], 0);
    let purged = json_of(check("?purge=true").await.unwrap(), 200).await;
    assert!(purged["purged"].as_u64().unwrap() >= 1, "{purged}");
    let after = json_of(check("").await.unwrap(), 200).await;
    assert_eq!(after["broken"], json!([]));
    assert_eq!(after["checked"], 1);
}

#[tokio::test]
async fn the_page_is_served_with_its_policy_etag_and_gzip() {
    let mock = MockUpstream::start().await;
    let gateway = keyed_gateway(&mock).await;
    let page = gateway.client.get(gateway.url("/ui")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    let policy = header(&page, "content-security-policy");
    assert!(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"));
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let etag = header(&page, "etag");
    let html = page.text().await.unwrap();
    assert!(html.contains("/ui/app.js"), "{html}");

    let unchanged = gateway
        .client
        .get(gateway.url("/ui"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    let gzipped = gateway
        .client
        .get(gateway.url("/ui/app.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&gzipped, "content-encoding"), "gzip");
    assert_eq!(
        header(&gzipped, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let bytes = gzipped.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    for path in [
        "/ui/vendor/uPlot.iife.min.js",
        "/ui/vendor/uPlot.min.css",
        "/ui/app.css",
    ] {
        let response = gateway.client.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let missing = gateway
        .client
        .get(gateway.url("/ui/nothing.js"))
        .send()
        .await
        .unwrap();
    expect_error(missing, 404, "unknown_url").await;
}

#[tokio::test]
async fn a_browser_at_the_root_is_sent_to_the_dashboard() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let browser = client
        .get(gateway.url("/"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 303);
    assert_eq!(header(&browser, "location"), "/ui");
    let api_client = client.get(gateway.url("/")).send().await.unwrap();
    expect_error(api_client, 404, "unknown_url").await;
}
