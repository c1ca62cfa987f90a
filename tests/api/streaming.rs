//! Streams reach the client chunk by chunk, and broken streams end
//! abnormally.

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;
use crate::raw_http::content_length;
use crate::reader::{extend_until, last_event, read_ending, read_to_end, read_until};

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

    // The mock is holding "second" until released: whatever arrives now was
    // passed on while the upstream stream was still open.
    let mut seen = read_until(&mut response, "first").await;
    assert!(!seen.contains("second"));

    mock.release();
    extend_until(&mut response, &mut seen, "[DONE]").await;
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
    let mut seen = read_until(&mut response, "partial").await;
    mock.release();
    let (rest, ended_cleanly) = read_ending(response).await;
    seen.push_str(&rest);
    let ended_abnormally = !ended_cleanly;
    assert!(
        ended_abnormally,
        "the connection must not end cleanly: {seen}"
    );
    assert!(seen.starts_with(&events[..2].concat()));
    assert!(!seen.contains("[DONE]"));
    let error = last_event(&seen);
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
    let mut seen = read_until(&mut response, "half").await;
    mock.release();
    seen.push_str(&read_to_end(response).await);
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

/// What a client made of one answer: a status and whether its body arrived
/// whole.
async fn outcome(response: reqwest::Response) -> (u16, Result<String, String>) {
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string());
    (status, body)
}

/// An upstream that answers every request with the head and the start of
/// a JSON body, then resets the connection at once, so the reset lands right
/// behind the first bytes.
async fn resetting_upstream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The head, then the body its content-length announces.
                while let Ok(n) = socket.read(&mut buffer).await {
                    request.extend_from_slice(&buffer[..n]);
                    if n == 0 || complete_request(&request) {
                        break;
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            content-length: 400\r\n\r\n{\"id\":\"chatcmpl-cut\",\"choi";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.set_zero_linger();
                drop(socket);
            });
        }
    });
    url
}

/// Whether `request` holds a whole head and the body it announces.
fn complete_request(request: &[u8]) -> bool {
    let text = String::from_utf8_lossy(request);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    body.len() >= content_length(head).unwrap_or(0)
}

#[tokio::test]
async fn a_json_answer_cut_mid_body_always_reaches_the_client_as_http() {
    let mock = MockUpstream::start().await;
    let upstream = resetting_upstream().await;
    let cached = Setup::on(&mock)
        .env("OPENAI_BASE_URL", &upstream)
        .start()
        .await;
    let plain = Setup::on(&mock)
        .env("OPENAI_BASE_URL", &upstream)
        .config("[cache]\nmode = \"off\"\n")
        .start()
        .await;
    for round in 0..50 {
        let target = if round % 2 == 0 { &cached } else { &plain };
        let body = serde_json::json!({
            "model": "gpt-4.1",
            "messages": [{"role": "user", "content": format!("round {round}")}],
        });
        // A complete HTTP response every time: a 502 when nothing had been
        // sent yet, else the head and then a body aborted where the
        // upstream's was.
        let response = target.chat_request().json(&body).send().await;
        let response = response.unwrap_or_else(|e| panic!("round {round}: no response: {e}"));
        let (status, body) = outcome(response).await;
        match status {
            200 => assert!(body.is_err(), "round {round}: aborted, not {body:?}"),
            502 => assert!(body.unwrap().contains("upstream_error"), "round {round}"),
            other => panic!("round {round}: status {other}"),
        }
    }
}

#[tokio::test]
async fn a_json_answer_cut_before_its_first_byte_is_a_502() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[retry]\nmax_retries = 0\n")
        .start()
        .await;
    mock.push_reply(Reply::CutJson(String::new()));
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    let error = expect_error(response, 502, "upstream_error").await;
    assert_eq!(error["error"]["type"], "upstream_error");
}
