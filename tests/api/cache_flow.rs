//! In-flight behaviour: one upstream call for identical requests, and
//! answers completed (and stored) after the client went away.

use futures::future::join_all;
use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;
use crate::reader::{first_chunk, rest};

/// Scripts a streamed answer of `pieces` that stops after `split` events
/// until released; returns all its events.
fn gated(mock: &MockUpstream, pieces: &[&str], split: usize) -> Vec<String> {
    let events = sse_answer("gpt-4.1", pieces);
    let (before, after) = events.split_at(split);
    mock.push_reply(Reply::GatedSse {
        before: before.to_vec(),
        after: after.to_vec(),
    });
    events
}

#[tokio::test]
async fn twenty_identical_streams_make_one_upstream_call() {
    let mock = MockUpstream::start().await;
    let events = gated(&mock, &["shared", " answer"], 2);
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", true);

    // All twenty start; each has its first chunk (so each has joined the
    // flight) before the upstream is let go on.
    let mut responses = join_all((0..20).map(|_| gateway.chat(&body))).await;
    let mut texts = Vec::new();
    for response in &mut responses {
        assert_eq!(response.status(), 200);
        texts.push(first_chunk(response).await);
    }
    assert_eq!(mock.hits(), 1);
    mock.release();
    for (response, text) in responses.iter_mut().zip(texts) {
        let whole = rest(response, text).await;
        assert_eq!(whole, events.concat());
    }
    assert_eq!(mock.hits(), 1);
    let statuses: Vec<String> = responses.iter().map(|r| cache_status(r).0).collect();
    assert!(statuses.iter().all(|s| s == "MISS"), "{statuses:?}");
    assert_eq!(cache_status(&gateway.chat(&body).await).0, "HIT");
}

#[tokio::test]
async fn twenty_identical_json_requests_make_one_upstream_call() {
    let mock = MockUpstream::start().await;
    let answer = completion("deepseek-chat", "one for all");
    mock.push_reply(Reply::GatedJson(reqwest::StatusCode::OK, answer.clone()));
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("deepseek-chat", false);
    let requests = join_all(
        (0..20).map(|_| async { gateway.chat(&body).await.json::<Value>().await.unwrap() }),
    );
    // Released once the first request is at the upstream; later arrivals
    // either follow the flight or, if it already ended, hit the cache.
    let release = async {
        mock.wait_for_hits(1, PATIENCE).await;
        mock.release();
    };
    let (bodies, ()) = tokio::join!(requests, release);
    assert!(bodies.iter().all(|b| *b == answer));
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_late_follower_gets_the_chunks_already_sent() {
    let mock = MockUpstream::start().await;
    let events = gated(&mock, &["early", " late"], 3);
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", true);
    let mut leader = gateway.chat(&body).await;
    let mut seen = first_chunk(&mut leader).await;
    while !seen.contains("early") {
        seen.push_str(&first_chunk(&mut leader).await);
    }
    let mut follower = gateway.chat(&body).await;
    let caught_up = first_chunk(&mut follower).await;
    assert!(caught_up.starts_with("data: "));
    mock.release();
    assert_eq!(rest(&mut follower, caught_up).await, events.concat());
    assert_eq!(rest(&mut leader, seen).await, events.concat());
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn an_answer_is_finished_and_stored_after_the_client_left() {
    let mock = MockUpstream::start().await;
    let events = gated(&mock, &["paid", " for"], 2);
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", true);
    let mut gone = gateway.chat(&body).await;
    first_chunk(&mut gone).await;
    drop(gone);
    mock.release();
    // The retry follows the still-running flight or hits the stored entry;
    // either way the upstream is not called again.
    let retry = gateway.chat(&body).await;
    assert!(["MISS", "HIT"].contains(&cache_status(&retry).0.as_str()));
    assert_eq!(read_text(retry).await, events.concat());
    let again = gateway.chat(&body).await;
    assert_eq!(cache_status(&again).0, "HIT");
    assert_eq!(read_text(again).await, events.concat());
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn without_complete_on_disconnect_a_left_answer_is_dropped() {
    let mock = MockUpstream::start().await;
    gated(&mock, &["not", " kept"], 2);
    let gateway = Setup::on(&mock)
        .config("[cache]\ncomplete_on_disconnect = false\n")
        .start()
        .await;
    let body = chat_body("gpt-4.1", true);
    let mut gone = gateway.chat(&body).await;
    first_chunk(&mut gone).await;
    drop(gone);
    mock.release();
    // The gateway hangs up on the upstream once it sees nobody listens.
    mock.stream_ended(PATIENCE).await;
    let retry = gateway.chat(&body).await;
    assert_eq!(cache_status(&retry).0, "MISS");
    assert!(read_text(retry).await.ends_with(SSE_DONE));
    assert_eq!(mock.hits(), 2);
}

/// Waits until `count` requests have joined another's upstream call, as
/// `/metrics` counts them.
async fn wait_for_followers(gateway: &Gateway, count: u64) {
    let wanted = format!("\nllm_bridge_shared_flights_total {count}\n");
    gateway.scrape_metrics_until(&wanted).await;
}

#[tokio::test]
async fn a_json_request_joins_a_stream_in_flight_and_gets_it_assembled() {
    let mock = MockUpstream::start().await;
    let events = gated(&mock, &["shared", " answer"], 2);
    let gateway = Setup::on(&mock).start().await;
    let mut leader = gateway.chat(&chat_body("gpt-4.1", true)).await;
    let seen = first_chunk(&mut leader).await;

    let follower = tokio::spawn({
        let request = gateway.chat_request().json(&chat_body("gpt-4.1", false));
        async move { request.send().await.unwrap() }
    });
    wait_for_followers(&gateway, 1).await;
    mock.release();
    assert_eq!(rest(&mut leader, seen).await, events.concat());
    let follower = follower.await.unwrap();
    assert_eq!(cache_status(&follower).0, "MISS", "shared the flight");
    assert_eq!(follower.headers()["content-type"], "application/json");
    let completion: Value = follower.json().await.unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "shared answer"
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["usage"]["completion_tokens"], 2);
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_stream_request_joins_a_json_request_in_flight_and_gets_it_as_chunks() {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::GatedJson(
        reqwest::StatusCode::OK,
        completion("gpt-4.1", "one answer"),
    ));
    let gateway = Setup::on(&mock).start().await;
    let leader = tokio::spawn({
        let request = gateway.chat_request().json(&chat_body("gpt-4.1", false));
        async move { request.send().await.unwrap() }
    });
    mock.wait_for_hits(1, PATIENCE).await;
    let follower = tokio::spawn({
        let request = gateway.chat_request().json(&chat_body("gpt-4.1", true));
        async move { request.send().await.unwrap() }
    });
    wait_for_followers(&gateway, 1).await;
    mock.release();
    let leader: Value = leader.await.unwrap().json().await.unwrap();
    assert_eq!(leader["choices"][0]["message"]["content"], "one answer");
    let follower = follower.await.unwrap();
    assert_eq!(cache_status(&follower).0, "MISS", "shared the flight");
    assert_eq!(follower.headers()["content-type"], "text/event-stream");
    let text = read_text(follower).await;
    assert!(text.contains("\"content\":\"one answer\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("\"usage\""), "not asked for: {text}");
    assert_eq!(mock.hits(), 1);
}
