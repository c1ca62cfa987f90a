//! The accept loop's bounds, seen from real sockets: slow and oversized
//! clients are shed with the server staying up, the connection cap holds
//! clients back, and running out of file descriptors is survived. Raw TCP
//! where a well-behaved HTTP client would not misbehave the way an attacker
//! does. The graceful stop is `shutdown.rs`'s.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::binary::Binary;
use crate::common::{Gateway, PATIENCE, Setup, chat_body, expect_error};
use crate::mock_upstream::MockUpstream;
use crate::raw_http::{GET_HEALTH, read_one_response, read_until_closed, status_line};
use crate::reader::{read_to_end, read_until};

const ONE_HUNDRED_MB: usize = 100 * 1024 * 1024;

/// A gateway on `mock` that gives a request head one second.
async fn with_header_timeout(mock: &MockUpstream) -> Gateway {
    Setup::on(mock)
        .config("[server]\nheader_read_timeout_secs = 1\n")
        .start()
        .await
}

/// GET /health on a fresh connection answers 200: the server is still up.
async fn assert_still_serving(addr: std::net::SocketAddr) {
    let response = timeout(PATIENCE, reqwest::get(format!("http://{addr}/health")))
        .await
        .expect("health answered in time")
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_client_trickling_its_request_head_is_disconnected() {
    let mock = MockUpstream::start().await;
    let gateway = with_header_timeout(&mock).await;
    let (mut reader, mut writer) = TcpStream::connect(gateway.addr).await.unwrap().into_split();
    writer
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nx-slow: ")
        .await
        .unwrap();
    // One more byte every 200 ms, for as long as the server reads them.
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b"a").await.is_err() {
                return;
            }
        }
    });

    let received = timeout(PATIENCE, read_until_closed(&mut reader))
        .await
        .expect("the server closed the slow connection");
    // hyper closes on a header timeout without answering.
    assert_eq!(received, b"");
    trickle.abort();
    assert_still_serving(gateway.addr).await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let mock = MockUpstream::start().await;
    let gateway = with_header_timeout(&mock).await;
    let mut silent = TcpStream::connect(gateway.addr).await.unwrap();
    let received = timeout(PATIENCE, read_until_closed(&mut silent))
        .await
        .expect("the server closed the silent connection");
    assert_eq!(received, b"");
    assert_still_serving(gateway.addr).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let mock = MockUpstream::start().await;
    let gateway = with_header_timeout(&mock).await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    stream.write_all(GET_HEALTH).await.unwrap();
    let response = read_one_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(!response.to_ascii_lowercase().contains("connection: close"));

    let idle_since = Instant::now();
    let received = timeout(PATIENCE, read_until_closed(&mut stream))
        .await
        .expect("the idle connection was closed");
    assert_eq!(received, b"");
    // Kept for a while, not dropped at once after the response.
    assert!(idle_since.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_response_outlasting_the_header_timeout_is_not_cut() {
    let mock = MockUpstream::start().await;
    mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let gateway = with_header_timeout(&mock).await;
    let mut response = gateway.chat(&chat_body("deepseek-chat", true)).await;
    let mut seen = read_until(&mut response, "first").await;
    // Deliberately longer than the header timeout: the stream must survive it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mock.release();
    seen.push_str(&read_to_end(response).await);
    assert!(seen.ends_with("data: [DONE]\n\n"), "{seen}");
}

#[tokio::test]
async fn an_oversized_request_head_gets_an_openai_431() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let response = gateway
        .chat_request()
        .header("x-big", "a".repeat(100 * 1024))
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    expect_error(response, 431, "headers_too_large").await;
    let response = gateway
        .client
        .get(gateway.url("/health"))
        .header("x-big", "a".repeat(65 * 1024))
        .send()
        .await
        .unwrap();
    expect_error(response, 431, "headers_too_large").await;
    assert_eq!(mock.hits(), 0);
    assert_still_serving(gateway.addr).await;
}

#[tokio::test]
async fn a_request_head_far_over_the_limit_gets_a_bare_431() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let (mut reader, mut writer) = TcpStream::connect(gateway.addr).await.unwrap().into_split();
    let mut request = b"GET /health HTTP/1.1\r\nhost: localhost\r\nx-big: ".to_vec();
    // Over twice the limit: hyper refuses it before the router sees it.
    request.extend(std::iter::repeat_n(b'a', 200 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    // The server stops reading at its limit, so the rest may never be taken.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });

    let response = timeout(PATIENCE, read_until_closed(&mut reader))
        .await
        .expect("the server answered and closed");
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    drop(writing.await);
    assert_still_serving(gateway.addr).await;
}

/// The resident memory of this test process, in bytes, when readable.
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Sends `head` then up to 100 MB of zeros in `frame`d pieces while reading
/// the answer, and returns the answer (the server may close while the body
/// is still coming: writes then fail, which ends the sender).
async fn send_huge_body(
    addr: std::net::SocketAddr,
    head: String,
    frame: fn(&[u8]) -> Vec<u8>,
    end: &'static [u8],
) -> Vec<u8> {
    let (mut reader, mut writer) = TcpStream::connect(addr).await.unwrap().into_split();
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let piece = frame(&[0u8; 64 * 1024]);
        for _ in 0..ONE_HUNDRED_MB / (64 * 1024) {
            writer.write_all(&piece).await?;
        }
        writer.write_all(end).await
    });
    let response = timeout(PATIENCE, read_until_closed(&mut reader))
        .await
        .expect("the server answered and closed");
    // The sender ends either way; whether its last writes failed does not
    // matter.
    let _ = timeout(PATIENCE, sending)
        .await
        .expect("the sender stopped");
    response
}

fn assert_too_large(response: &[u8]) {
    assert_eq!(status_line(response), "HTTP/1.1 413 Payload Too Large");
    let text = String::from_utf8_lossy(response);
    let body = &text[text.find("\r\n\r\n").expect("a body") + 4..];
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["error"]["code"], "request_too_large", "{error}");
}

#[tokio::test]
async fn a_100_mb_body_gets_413_without_being_held_in_memory() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let before = resident_bytes();

    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {ONE_HUNDRED_MB}\r\n\r\n"
    );
    let response = send_huge_body(gateway.addr, head, <[u8]>::to_vec, b"").await;
    assert_too_large(&response);

    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n\
                content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_string();
    let chunked = |piece: &[u8]| {
        let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
        framed.extend_from_slice(piece);
        framed.extend_from_slice(b"\r\n");
        framed
    };
    let response = send_huge_body(gateway.addr, head, chunked, b"0\r\n\r\n").await;
    assert_too_large(&response);

    // Other tests share this process, so only a gross leak shows: twice
    // 100 MB held would be far above this.
    if let (Some(before), Some(after)) = (before, resident_bytes()) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 50 * 1024 * 1024,
            "resident memory grew by {grown} bytes"
        );
    }
    assert_still_serving(gateway.addr).await;
}

/// A connection the server has accepted (it answered a request on it) and
/// that is now stuck mid-body.
async fn held_connection(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(GET_HEALTH).await.unwrap();
    let response = read_one_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    stream
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn past_max_connections_a_client_waits_until_one_closes() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[server]\nmax_connections = 2\n")
        .start()
        .await;
    let first = held_connection(gateway.addr).await;
    let _second = held_connection(gateway.addr).await;

    let mut third = tokio::spawn(reqwest::get(gateway.url("/health")));
    // The one "has not happened" check: the third client is not served
    // while both places are taken.
    assert!(
        timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "a third connection was served past max_connections = 2"
    );

    drop(first);
    let response = timeout(PATIENCE, third)
        .await
        .expect("served once a place came free")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn out_of_file_descriptors_the_binary_backs_off_and_recovers() {
    let mock = MockUpstream::start().await;
    let mut binary = Binary::start_with_open_files(&mock, Some(64)).await;
    binary.logged("may open only 64 files").await;
    let addr: std::net::SocketAddr = binary
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .parse()
        .unwrap();

    // More clients than the process has descriptors: accepting fails with
    // "too many open files" until some close; the rest wait in the backlog.
    let mut clients = Vec::new();
    for _ in 0..80 {
        clients.push(TcpStream::connect(addr).await.unwrap());
    }
    binary.logged("cannot accept connections").await;
    drop(clients);
    assert_still_serving(addr).await;
    binary.signal("-TERM");
    assert_eq!(binary.exit_code().await, Some(0));
}

#[tokio::test]
async fn a_body_trickling_past_the_body_timeout_gets_408() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[server]\nbody_read_timeout_secs = 1\n")
        .start()
        .await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":",
        )
        .await
        .unwrap();
    // One more byte now and then, each well within any per-chunk timeout:
    // only a bound on the whole body stops this client.
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = timeout(Duration::from_millis(1500), trickle).await;
    let started = Instant::now();
    let response = timeout(PATIENCE, read_one_response(&mut stream))
        .await
        .expect("the server answered the trickling client");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"request_timeout\""), "{response}");
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(mock.hits(), 0);
    assert_still_serving(gateway.addr).await;
}
