//! The graceful stop, in-process and as the real binary: stopping refuses
//! new clients and lets streams finish, or, past the grace period, ends
//! them with an event and records them; SIGTERM drains and exits 0, a
//! second signal stops at once.

use std::time::Duration;

use llm_bridge::stats::query::{StatsQuery, report};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::binary::Binary;
use crate::common::{PATIENCE, Setup, chat_body, expect_error};
use crate::mock_upstream::{MockUpstream, Reply};
use crate::raw_http::{GET_HEALTH, read_until_closed};
use crate::reader::{last_event, read_to_end, read_until};

/// Waits until new clients are refused or closed unanswered: the listener
/// is gone. A client that slipped in before that is still served, so keep
/// trying.
async fn wait_until_refused(addr: std::net::SocketAddr) {
    timeout(PATIENCE, async {
        loop {
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                return;
            };
            let _ = stream.write_all(GET_HEALTH).await;
            if read_until_closed(&mut stream).await.is_empty() {
                return;
            }
            // Pacing between attempts only.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("new connections were refused after the stop");
}

#[tokio::test]
async fn stopping_refuses_new_clients_and_lets_a_stream_finish() {
    let mock = MockUpstream::start().await;
    let events = mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let mut gateway = Setup::on(&mock).start().await;
    let mut response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    let mut seen = read_until(&mut response, "first").await;

    gateway.begin_stop();
    wait_until_refused(gateway.addr).await;
    mock.release();
    seen.push_str(&read_to_end(response).await);
    assert_eq!(seen, events.concat());
    timeout(PATIENCE, gateway.stop())
        .await
        .expect("the server stopped once the stream ended");
}

#[tokio::test]
async fn a_stream_outlasting_the_grace_period_ends_with_an_event_and_is_recorded() {
    let mock = MockUpstream::start().await;
    mock.push_gated_answer("deepseek-chat", &["first", "never"]);
    mock.push_reply(Reply::Stall);
    let mut gateway = Setup::on(&mock)
        .config("[server]\nshutdown_grace_secs = 1\n")
        .start()
        .await;
    let mut response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    read_until(&mut response, "first").await;
    // A second request, still waiting for its provider at the end.
    let waiting = tokio::spawn({
        let request = gateway.chat_request().json(&chat_body("gpt-4.1", false));
        async move { request.send().await.unwrap() }
    });
    mock.wait_for_hits(2, PATIENCE).await;

    timeout(PATIENCE, gateway.stop())
        .await
        .expect("the server stopped after the grace period");
    let report = report(&gateway.data_dir, &StatsQuery::default()).unwrap();
    let log = gateway.stop_and_read_log().await;
    let rest = read_to_end(response).await;
    assert!(!rest.contains("[DONE]"), "{rest}");
    let event = last_event(&rest);
    assert_eq!(event["error"]["code"], "server_shutdown", "told: {rest}");
    expect_error(waiting.await.unwrap(), 503, "server_shutdown").await;

    let outcomes: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["outcome"].to_string())
        .collect();
    assert_eq!(outcomes, ["\"shutdown\"", "\"shutdown\""], "{log}");
    let total = &report.total;
    assert_eq!(total.requests, 2, "both recorded: {report:?}");
    assert_eq!(total.errors, 1, "the 503");
    assert_eq!(total.estimated_requests, 1, "the stream, estimated so far");
    assert!(
        total.prompt_tokens > 0 && total.completion_tokens > 0,
        "{total:?}"
    );
}

#[tokio::test]
async fn sigterm_lets_the_binary_finish_a_stream_flush_its_log_and_exit_0() {
    let mock = MockUpstream::start().await;
    mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let mut binary = Binary::start(&mock).await;
    let response = binary.open_gated_stream().await;

    binary.signal("-TERM");
    binary.logged("stopped accepting").await;
    mock.release();
    let rest = read_to_end(response).await;
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest}");
    assert_eq!(binary.exit_code().await, Some(0));

    let log = std::fs::read_to_string(binary.dir.path().join("logs/requests.log")).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["model"], "deepseek-chat", "{log}");
}

#[tokio::test]
async fn a_second_signal_stops_the_binary_at_once() {
    let mock = MockUpstream::start().await;
    mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let mut binary = Binary::start(&mock).await;
    let response = binary.open_gated_stream().await;

    binary.signal("-TERM");
    binary.logged("stopped accepting").await;
    binary.signal("-INT");
    assert_eq!(binary.exit_code().await, Some(1));
    let rest = read_to_end(response).await;
    assert!(!rest.contains("[DONE]"), "{rest}");
}
