//! HTTP/1.1 spoken by hand over raw TCP, for clients (and upstreams) that
//! misbehave the way a well-behaved HTTP library never would: reading to
//! the peer's close, one `content-length` message off a keep-alive
//! connection, the status line, the length a head announces.
//!
//! No timeouts here: callers bound each read with
//! [`crate::common::PATIENCE`].

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

/// A complete `GET /health` request.
pub const GET_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n";

/// Reads until the peer closes (EOF or reset) and returns what arrived.
pub async fn read_until_closed(reader: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Reads one `content-length` response off a keep-alive connection.
pub async fn read_one_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "closed mid-response: {received:?}");
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).to_string();
        let Some(head_end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = content_length(&text[..head_end]).expect("a content-length");
        if received.len() >= head_end + 4 + length {
            return text;
        }
    }
}

/// The `content-length` a message head announces, if it has a valid one.
pub fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// The first line of a raw response.
pub fn status_line(response: &[u8]) -> String {
    String::from_utf8_lossy(response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
