//! Per-request Cache-Control, server modes, TTL, size cap, scopes and paced
//! replay.

use std::time::Instant;

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// Sends `body` with extra headers; returns (x-cache, body text).
async fn send(gateway: &Gateway, body: &Value, headers: &[(&str, &str)]) -> (String, String) {
    let mut request = gateway.chat_request().json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = cache_status(&response).0;
    (status, response.text().await.unwrap())
}

fn scripted(mock: &MockUpstream, contents: &[&str]) {
    for content in contents {
        mock.push_reply(Reply::Json(
            reqwest::StatusCode::OK,
            completion("gpt-4.1", content),
        ));
    }
}

#[tokio::test]
async fn no_cache_refreshes_no_store_skips_storing() {
    let mock = MockUpstream::start().await;
    scripted(&mock, &["first", "second", "third"]);
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", false);
    assert_eq!(send(&gateway, &body, &[]).await.0, "MISS");
    let (status, text) = send(&gateway, &body, &[("cache-control", "no-cache")]).await;
    assert_eq!(status, "BYPASS");
    assert!(text.contains("second"));
    let (status, text) = send(&gateway, &body, &[]).await;
    assert_eq!(status, "HIT");
    assert!(text.contains("second"), "no-cache stored the fresh answer");

    let other = chat_body("deepseek-chat", false);
    assert_eq!(
        send(&gateway, &other, &[("cache-control", "no-store")])
            .await
            .0,
        "BYPASS"
    );
    assert_eq!(
        send(&gateway, &other, &[]).await.0,
        "MISS",
        "no-store stored nothing"
    );
    assert_eq!(mock.hits(), 4);
}

#[tokio::test]
async fn max_age_and_ttl_skip_old_entries() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[cache]\nttl_secs = 7200\n")
        .start()
        .await;
    let body = chat_body("gpt-4.1", false);
    let response = gateway.chat(&body).await;
    let key = cache_status(&response).1;
    response.text().await.unwrap();
    gateway.cache_written().await;
    age_entry(&gateway.cache_dir, &key, 3600);

    let hit = gateway.chat(&body).await;
    assert_eq!(cache_status(&hit).0, "HIT");
    assert!(
        hit.headers()["age"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 3600
    );
    assert_eq!(
        send(&gateway, &body, &[("cache-control", "max-age=60")])
            .await
            .0,
        "MISS"
    );
    assert_eq!(mock.hits(), 2);
    // That miss stored a fresh entry.
    assert_eq!(
        send(&gateway, &body, &[("cache-control", "max-age=60")])
            .await
            .0,
        "HIT"
    );
    gateway.cache_written().await;

    age_entry(&gateway.cache_dir, &key, 7300);
    assert_eq!(send(&gateway, &body, &[]).await.0, "MISS", "past the TTL");
    assert_eq!(mock.hits(), 3);
}

#[tokio::test]
async fn read_only_serves_but_never_stores() {
    let mock = MockUpstream::start().await;
    let dirs = tempfile::tempdir().unwrap();
    let body = chat_body("gpt-4.1", false);
    let writer = Setup::on(&mock).cache_dir(dirs.path()).start().await;
    writer.chat(&body).await.text().await.unwrap();
    writer.cache_written().await;
    let reader = Setup::on(&mock)
        .cache_dir(dirs.path())
        .config("[cache]\nmode = \"read-only\"")
        .start()
        .await;
    assert_eq!(send(&reader, &body, &[]).await.0, "HIT");
    let other = chat_body("deepseek-chat", false);
    assert_eq!(send(&reader, &other, &[]).await.0, "MISS");
    assert_eq!(send(&reader, &other, &[]).await.0, "MISS");
    assert_eq!(mock.hits(), 3);
}

#[tokio::test]
async fn offline_never_calls_the_upstream() {
    let mock = MockUpstream::start().await;
    let dirs = tempfile::tempdir().unwrap();
    let body = chat_body("gpt-4.1", true);
    let writer = Setup::on(&mock).cache_dir(dirs.path()).start().await;
    let recorded = read_text(writer.chat(&body).await).await;
    writer.cache_written().await;

    let offline = Setup::on(&mock)
        .cache_dir(dirs.path())
        .config("[cache]\nmode = \"offline\"")
        .start()
        .await;
    let hit = offline.chat(&body).await;
    assert_eq!(cache_status(&hit).0, "HIT");
    assert_eq!(read_text(hit).await, recorded);
    let missing = offline.chat(&chat_body("deepseek-chat", false)).await;
    let key = cache_status(&missing).1;
    let error = expect_error(missing, 404, "cache_miss").await;
    assert!(error["error"]["message"].as_str().unwrap().contains(&key));
    let forced = offline
        .chat_request()
        .header("cache-control", "no-cache")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    expect_error(forced, 404, "cache_miss").await;
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn write_only_refreshes_and_off_keeps_nothing() {
    let mock = MockUpstream::start().await;
    scripted(&mock, &["old", "new"]);
    let gateway = Setup::on(&mock)
        .config("[cache]\nmode = \"write-only\"")
        .start()
        .await;
    let body = chat_body("gpt-4.1", false);
    assert_eq!(send(&gateway, &body, &[]).await.0, "BYPASS");
    let (status, text) = send(&gateway, &body, &[]).await;
    assert_eq!(status, "BYPASS");
    assert!(text.contains("new"));
    let key = cache_status(&gateway.chat(&chat_body("x-unknown", false)).await).1;
    assert!(key.is_empty(), "an unroutable model has no key");
    gateway.cache_written().await;
    let stored = files_in(&gateway.cache_dir);
    assert_eq!(stored.len(), 3);
    let txt = stored.iter().find(|f| f.ends_with(".txt")).unwrap();
    assert!(
        std::fs::read_to_string(gateway.cache_dir.join(txt))
            .unwrap()
            .contains("new")
    );

    let off = Setup::on(&mock)
        .config("[cache]\nmode = \"off\"")
        .start()
        .await;
    assert_eq!(send(&off, &body, &[]).await.0, "BYPASS");
    assert_eq!(send(&off, &body, &[]).await.0, "BYPASS");
    off.cache_written().await;
    assert!(files_in(&off.cache_dir).is_empty());
    assert_eq!(mock.hits(), 4);
}

#[tokio::test]
async fn the_size_cap_evicts_the_oldest_entries() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[cache]\nmax_total_bytes = 4000")
        .start()
        .await;
    let keys = gateway.ask_questions(6).await;
    gateway.cache_written().await;
    let metas: Vec<String> = files_in(&gateway.cache_dir)
        .into_iter()
        .filter(|f| f.ends_with(".meta.json"))
        .collect();
    assert!(metas.len() < 6, "some entries were evicted: {metas:?}");
    assert!(
        metas.contains(&format!("{}.meta.json", keys[5])),
        "the newest stays"
    );
    assert!(
        !metas.contains(&format!("{}.meta.json", keys[0])),
        "the oldest went first"
    );
}

#[tokio::test]
async fn entries_are_per_access_key_unless_shared() {
    let mock = MockUpstream::start().await;
    let body = chat_body("gpt-4.1", false);
    let keys = "alice:key-a,bob:key-b,carol:key-c";
    let ask = |gateway: &Gateway, key: &'static str| {
        let request = gateway.chat_request().bearer_auth(key).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = cache_status(&response);
            // Read to the end: the entry is stored before the body ends.
            response.text().await.unwrap();
            status
        }
    };

    let per_key = Setup::on(&mock)
        .env("ACCESS_API_KEYS", keys)
        .config("[cache.groups]\nteam = [\"bob\", \"carol\"]")
        .start()
        .await;
    let (alice, alice_key) = ask(&per_key, "key-a").await;
    let (bob, bob_key) = ask(&per_key, "key-b").await;
    let (carol, carol_key) = ask(&per_key, "key-c").await;
    assert_eq!(
        (alice.as_str(), bob.as_str(), carol.as_str()),
        ("MISS", "MISS", "HIT")
    );
    assert_ne!(alice_key, bob_key, "another key never sees alice's entry");
    assert_eq!(bob_key, carol_key, "one group shares entries");
    assert_eq!(mock.hits(), 2);

    let shared = Setup::on(&mock)
        .env("ACCESS_API_KEYS", keys)
        .config("[cache]\nscope = \"shared\"")
        .start()
        .await;
    assert_eq!(ask(&shared, "key-a").await.0, "MISS");
    assert_eq!(ask(&shared, "key-b").await.0, "HIT");
    assert_eq!(mock.hits(), 3);
}

#[tokio::test]
async fn paced_replay_keeps_the_recorded_timing() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = MockOptions {
        stream_chunks: 3,
        chunk_delay: std::time::Duration::from_millis(60),
        record: true,
    };
    let mock = MockUpstream::start_with(listener, options).await;
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", true);
    let response = gateway.chat(&body).await;
    let key = cache_status(&response).1;
    let recorded = read_text(response).await;
    gateway.cache_written().await;
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(gateway.cache_dir.join(format!("{key}.meta.json"))).unwrap(),
    )
    .unwrap();
    let last_offset = meta["chunks"].as_array().unwrap().last().unwrap()["offset_ms"]
        .as_u64()
        .unwrap();
    assert!(last_offset > 0);

    let started = Instant::now();
    let paced = gateway
        .chat_request()
        .header("x-cache-replay", "paced")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cache_status(&paced).0, "HIT");
    assert_eq!(read_text(paced).await, recorded);
    // Paced chunks are sent no earlier than their recorded offsets.
    assert!(started.elapsed().as_millis() as u64 >= last_offset);

    let immediate = gateway.chat(&body).await;
    assert_eq!(read_text(immediate).await, recorded);
    assert_eq!(mock.hits(), 1);
}

/// A stream as OpenAI sends it when asked for usage: the usage in a chunk
/// of its own, with empty `choices`, before `[DONE]`.
fn stream_with_usage_chunk(model: &str, pieces: &[&str]) -> Vec<String> {
    let mut events = sse_answer(model, pieces);
    let done = events.pop().unwrap();
    let finish = events.pop().unwrap();
    let mut finish: Value = serde_json::from_str(finish.strip_prefix("data: ").unwrap()).unwrap();
    let usage = finish["usage"].take();
    events.push(sse_event(&finish));
    events.push(sse_event(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": model, "choices": [], "usage": usage,
    })));
    events.push(done);
    events
}

#[tokio::test]
async fn paced_replay_keeps_its_pace_without_the_usage_chunk() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = MockOptions {
        chunk_delay: std::time::Duration::from_millis(40),
        ..MockOptions::default()
    };
    let mock = MockUpstream::start_with(listener, options).await;
    let events = stream_with_usage_chunk("gpt-4.1", &["one ", "two ", "three"]);
    mock.push_reply(Reply::Sse(events.clone()));
    let gateway = Setup::on(&mock).start().await;
    let body = chat_body("gpt-4.1", true);
    let live = read_text(gateway.chat(&body).await).await;
    let usage_event = &events[events.len() - 2];
    assert!(
        !live.contains(usage_event.as_str()),
        "the client did not ask"
    );
    assert_eq!(live, events.concat().replace(usage_event.as_str(), ""));

    let started = Instant::now();
    let mut paced = gateway
        .chat_request()
        .header("x-cache-replay", "paced")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cache_status(&paced).0, "HIT");
    let mut pieces = Vec::new();
    while let Some(chunk) = paced.chunk().await.unwrap() {
        pieces.push((
            started.elapsed(),
            String::from_utf8(chunk.to_vec()).unwrap(),
        ));
    }
    let text: String = pieces.iter().map(|(_, piece)| piece.as_str()).collect();
    assert_eq!(
        text, live,
        "the same stream, the usage chunk still left out"
    );
    assert!(pieces.len() >= 5, "sent chunk by chunk: {pieces:?}");
    // Seven events, each recorded 40 ms after the one before: the last
    // piece cannot leave before the content and finish chunks' offsets.
    let (last_at, _) = pieces.last().unwrap();
    assert!(last_at.as_millis() >= 160, "paced: {pieces:?}");
    assert_eq!(mock.hits(), 1);
}
