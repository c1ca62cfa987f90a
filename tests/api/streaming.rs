//! Streams reach the client chunk by chunk, and broken streams end
//! abnormally.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

/// Generous bound for events that should happen at once; only a broken
/// gateway (one that buffers) ever waits this long.
const PATIENCE: Duration = Duration::from_secs(10);

async fn read_until(response: &mut reqwest::Response, seen: &mut String, needle: &str) {
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout(PATIENCE, response.chunk())
            .await
            .expect("the gateway passes each chunk on without waiting for the next")
            .unwrap()
            .expect("stream ended early");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn the_first_chunk_arrives_before_the_second_is_sent() {
    let mock = MockUpstream::start().await;
    let events = mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let gateway = Setup::on(&mock).start().await;

    let mut response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");

    let mut seen = String::new();
    // The mock is holding "second" until released: whatever arrives now was
    // passed on while the upstream stream was still open.
    read_until(&mut response, &mut seen, "first").await;
    assert!(!seen.contains("second"));

    mock.release();
    read_until(&mut response, &mut seen, "[DONE]").await;
    assert!(response.chunk().await.unwrap().is_none());
    assert_eq!(seen, events.concat());
}

#[tokio::test]
async fn a_cut_stream_ends_with_an_error_event_and_no_done() {
    let mock = MockUpstream::start().await;
    let events = sse_answer("gpt-4.1", &["partial"]);
    mock.push_reply(Reply::CutSse(events[..2].to_vec()));
    let gateway = Setup::on(&mock).start().await;

    let mut response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    assert_eq!(response.status(), 200);
    let mut seen = String::new();
    read_until(&mut response, &mut seen, "partial").await;
    mock.release();
    let ended_abnormally = loop {
        match tokio::time::timeout(PATIENCE, response.chunk())
            .await
            .unwrap()
        {
            Ok(Some(chunk)) => seen.push_str(std::str::from_utf8(&chunk).unwrap()),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(
        ended_abnormally,
        "the connection must not end cleanly: {seen}"
    );
    assert!(seen.starts_with(&events[..2].concat()));
    assert!(!seen.contains("[DONE]"));
    let last = seen.trim_end().rsplit("\n\n").next().unwrap();
    let error: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "upstream_stream_error");
}

#[tokio::test]
async fn an_error_event_after_half_an_event_starts_on_its_own_line() {
    let mock = MockUpstream::start().await;
    // Half of a content event (one that has shown its choices: the start of
    // an event that could still be a usage-only chunk is held until it can
    // be told apart).
    let half = "data: {\"id\":\"half\",\"choices\":[{\"index\":0";
    mock.push_reply(Reply::CutSse(vec![half.into()]));
    let gateway = Setup::on(&mock).start().await;
    let mut response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    let mut seen = String::new();
    read_until(&mut response, &mut seen, "half").await;
    mock.release();
    while let Ok(Some(chunk)) = tokio::time::timeout(PATIENCE, response.chunk())
        .await
        .unwrap()
    {
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(
        seen.starts_with(&format!("{half}\n\ndata: {{\"error\"")),
        "{seen}"
    );
}

#[tokio::test]
async fn an_error_for_a_stream_request_passes_through_as_json() {
    let mock = MockUpstream::start().await;
    let error = serde_json::json!({"error": {"message": "Rate limit", "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
    mock.push_reply(Reply::Json(
        reqwest::StatusCode::TOO_MANY_REQUESTS,
        error.clone(),
    ));
    let gateway = Setup::on(&mock)
        .config("[retry]\nmax_retries = 0")
        .start()
        .await;
    let response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap(), error);
}
