//! The cache: keys, hits in both forms, what is never stored, damaged
//! entries.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;
use crate::reader::{first_chunk, read_to_end};

#[tokio::test]
async fn key_order_whitespace_naming_and_stream_share_one_entry() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let first = gateway
        .chat_request()
        .header("content-type", "application/json")
        .body(r#"{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}],"temperature":0}"#)
        .send()
        .await
        .unwrap();
    let (status, key) = cache_status(&first);
    assert_eq!(status, "MISS");
    assert_eq!(key.len(), 64);
    let answer: Value = first.json().await.unwrap();

    let second = gateway
        .chat_request()
        .header("content-type", "application/json")
        .body("{\n  \"temperature\" : 0,\n  \"messages\" : [ { \"content\" : \"hi\", \"role\" : \"user\" } ],\n  \"model\" : \"deepseek/deepseek-chat\", \"user\": \"someone\" }")
        .send()
        .await
        .unwrap();
    assert_eq!(cache_status(&second), ("HIT".to_string(), key.clone()));
    assert_eq!(second.headers()["x-llm-bridge-provider"], "deepseek");
    assert!(
        second.headers()["age"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(second.json::<Value>().await.unwrap(), answer);
    assert_eq!(mock.hits(), 1);

    // Different content is a different entry.
    let mut other = chat_body("deepseek-chat", false);
    other["temperature"] = json!(0.5);
    let third = gateway.chat(&other).await;
    assert_eq!(cache_status(&third).0, "MISS");
    assert_ne!(cache_status(&third).1, key);
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn entries_are_readable_files_in_the_cache_folder() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    let key = cache_status(&response).1;
    let streamed = read_text(response).await;
    gateway.cache_written().await;
    assert_eq!(
        files_in(&gateway.cache_dir),
        [
            format!("{key}.meta.json"),
            format!("{key}.request"),
            format!("{key}.txt")
        ]
    );
    let stored = std::fs::read_to_string(gateway.cache_dir.join(format!("{key}.txt"))).unwrap();
    assert_eq!(stored, streamed, "the stream as the upstream sent it");
    let request: Value = serde_json::from_str(
        &std::fs::read_to_string(gateway.cache_dir.join(format!("{key}.request"))).unwrap(),
    )
    .unwrap();
    assert_eq!(request, chat_body("gpt-4.1", true));
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(gateway.cache_dir.join(format!("{key}.meta.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["status"], 200);
    assert_eq!(meta["kind"], "sse");
    assert_eq!(meta["provider"], "openai");
    assert_eq!(meta["upstream_model"], "gpt-4.1");
    assert_eq!(meta["usage"]["total_tokens"], 8);
    assert!(!meta["chunks"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_stream_entry_replays_as_the_same_events_and_a_json_entry_as_json() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let first = read_text(gateway.chat(&chat_body("gpt-4.1", true)).await).await;
    let again = gateway.chat(&chat_body("gpt-4.1", true)).await;
    assert_eq!(cache_status(&again).0, "HIT");
    assert_eq!(again.headers()["content-type"], "text/event-stream");
    assert_eq!(again.headers()["cache-control"], "no-cache");
    assert_eq!(read_text(again).await, first);

    let json_first = gateway
        .chat(&chat_body("deepseek-chat", false))
        .await
        .text()
        .await
        .unwrap();
    let json_again = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(cache_status(&json_again).0, "HIT");
    assert_eq!(json_again.headers()["content-type"], "application/json");
    assert_eq!(json_again.text().await.unwrap(), json_first);
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn a_stream_entry_serves_json_and_a_json_entry_serves_a_stream() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    read_text(gateway.chat(&chat_body("gpt-4.1", true)).await).await;
    let as_json = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(cache_status(&as_json).0, "HIT");
    let completion: Value = as_json.json().await.unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "tok0 tok1 tok2 "
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["usage"]["total_tokens"], 8);

    gateway
        .chat(&chat_body("deepseek-chat", false))
        .await
        .text()
        .await
        .unwrap();
    let as_stream = gateway.chat(&chat_body("deepseek-chat", true)).await;
    assert_eq!(cache_status(&as_stream).0, "HIT");
    assert_eq!(as_stream.headers()["content-type"], "text/event-stream");
    let text = read_text(as_stream).await;
    assert!(text.ends_with(SSE_DONE));
    assert!(
        text.contains("\"content\":\"Hello from the mock\""),
        "{text}"
    );
    assert_eq!(mock.hits(), 2);
}

/// Sends `body` twice and checks both went upstream and nothing was stored.
async fn assert_never_cached(gateway: &Gateway, mock: &MockUpstream, body: &Value, reply: Reply) {
    mock.push_reply(reply.clone());
    mock.push_reply(reply);
    let before = mock.hits();
    for _ in 0..2 {
        let response = gateway.chat(body).await;
        assert_eq!(cache_status(&response).0, "MISS");
        // Read to the end, tolerating an abnormal end.
        read_to_end(response).await;
    }
    assert_eq!(
        mock.hits(),
        before + 2,
        "both requests reached the upstream"
    );
    gateway.cache_written().await;
    assert!(
        files_in(&gateway.cache_dir).is_empty(),
        "nothing stored: {:?}",
        files_in(&gateway.cache_dir)
    );
}

#[tokio::test]
async fn failures_errors_and_incomplete_answers_are_never_cached() {
    let mock = MockUpstream::start().await;
    // Retries off, so each scripted failure is the answer the client gets.
    let gateway = Setup::on(&mock)
        .config("[retry]\nmax_retries = 0")
        .start()
        .await;
    let json = chat_body("gpt-4.1", false);
    let stream = chat_body("gpt-4.1", true);
    let error = json!({"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}});
    assert_never_cached(
        &gateway,
        &mock,
        &json,
        Reply::Json(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            completion("gpt-4.1", "x"),
        ),
    )
    .await;
    assert_never_cached(
        &gateway,
        &mock,
        &json,
        Reply::Json(reqwest::StatusCode::OK, error.clone()),
    )
    .await;
    let mut empty = completion("gpt-4.1", "x");
    empty["choices"] = json!([]);
    assert_never_cached(
        &gateway,
        &mock,
        &json,
        Reply::Json(reqwest::StatusCode::OK, empty),
    )
    .await;
    assert_never_cached(
        &gateway,
        &mock,
        &json,
        Reply::Raw(reqwest::StatusCode::OK, "text/plain", "hello".into()),
    )
    .await;

    // A stream that ends without [DONE] or a finish reason.
    let unfinished = vec![sse_event(&content_chunk("gpt-4.1", "half"))];
    assert_never_cached(&gateway, &mock, &stream, Reply::Sse(unfinished)).await;
    // A stream with an error event.
    let mut with_error = sse_answer("gpt-4.1", &["a"]);
    with_error.insert(2, sse_event(&error));
    assert_never_cached(&gateway, &mock, &stream, Reply::Sse(with_error)).await;
}

#[tokio::test]
async fn a_cut_stream_is_never_cached() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let events = sse_answer("gpt-4.1", &["a", "b"]);
    for _ in 0..2 {
        mock.push_reply(Reply::CutSse(events[..3].to_vec()));
        let mut response = gateway.chat(&chat_body("gpt-4.1", true)).await;
        let mut text = first_chunk(&mut response).await;
        assert!(!text.is_empty());
        mock.release();
        text.push_str(&read_to_end(response).await);
        assert!(!text.contains("[DONE]"));
    }
    assert_eq!(mock.hits(), 2);
    gateway.cache_written().await;
    assert!(files_in(&gateway.cache_dir).is_empty());
}

#[tokio::test]
async fn answers_over_the_size_limit_are_not_cached() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[cache]\nmax_entry_bytes = 200\n")
        .start()
        .await;
    let big = chat_body("gpt-4.1", false);
    assert_never_cached(
        &gateway,
        &mock,
        &big,
        Reply::Json(
            reqwest::StatusCode::OK,
            completion("gpt-4.1", &"x".repeat(500)),
        ),
    )
    .await;
    // A small answer is still stored under the same limit.
    mock.push_reply(Reply::Raw(reqwest::StatusCode::OK, "application/json", r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#.into()));
    let mut small = chat_body("gpt-4.1", false);
    small["messages"][0]["content"] = json!("small");
    gateway.chat(&small).await.text().await.unwrap();
    gateway.cache_written().await;
    assert_eq!(files_in(&gateway.cache_dir).len(), 3);
}

#[tokio::test]
async fn a_damaged_entry_is_a_miss_and_is_moved_aside() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", false);
    let first = gateway.chat(&body).await;
    let key = cache_status(&first).1;
    first.text().await.unwrap();
    gateway.cache_written().await;
    let txt = gateway.cache_dir.join(format!("{key}.txt"));
    std::fs::write(&txt, r#"{"choices":[{"message":{"content":"tampered"}}]}"#).unwrap();

    let second = gateway.chat(&body).await;
    assert_eq!(cache_status(&second).0, "MISS");
    assert_eq!(
        second.json::<Value>().await.unwrap(),
        completion("gpt-4.1", "Hello from the mock")
    );
    assert_eq!(mock.hits(), 2);
    assert!(
        gateway
            .cache_dir
            .join("broken")
            .join(format!("{key}.txt"))
            .exists()
    );
    // The fresh answer replaced it.
    assert_eq!(cache_status(&gateway.chat(&body).await).0, "HIT");
}

#[tokio::test]
async fn leftovers_of_an_interrupted_write_are_never_served() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[cache]\nmode = \"read-only\"\n")
        .start()
        .await;
    let body = chat_body("gpt-4.1", false);
    let key = cache_status(&gateway.chat(&body).await).1;
    // What a kill -9 in the middle of storing leaves: the response and the
    // request renamed into place, the metadata still a temporary file.
    let answer = completion("gpt-4.1", "from a crashed write").to_string();
    std::fs::write(gateway.cache_dir.join(format!("{key}.txt")), &answer).unwrap();
    std::fs::write(
        gateway.cache_dir.join(format!("{key}.request")),
        body.to_string(),
    )
    .unwrap();
    std::fs::write(
        gateway.cache_dir.join(format!(".tmp-{key}.meta.json.1-0")),
        "{\"format\":1,",
    )
    .unwrap();

    let response = gateway.chat(&body).await;
    assert_eq!(cache_status(&response).0, "MISS");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        completion("gpt-4.1", "Hello from the mock")
    );
    assert_eq!(mock.hits(), 2);
}
