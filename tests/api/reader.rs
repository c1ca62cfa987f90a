//! Response bodies read as they arrive, chunk by chunk, each wait bounded
//! by [`PATIENCE`] so a gateway that buffers or hangs fails the test rather
//! than stalling it; and the SSE event a stream ends with.
//!
//! Chunks are taken as UTF-8 text one by one (every answer under test is
//! ASCII), so a chunk that is not text fails the test.

use serde_json::Value;
use tokio::time::timeout;

use crate::common::PATIENCE;

/// The next chunk, which must come within [`PATIENCE`].
pub async fn first_chunk(response: &mut reqwest::Response) -> String {
    let chunk = timeout(PATIENCE, response.chunk())
        .await
        .expect("a first chunk in time")
        .unwrap()
        .expect("a first chunk");
    String::from_utf8(chunk.to_vec()).unwrap()
}

/// Reads on after `text` to a clean end of the body.
pub async fn rest(response: &mut reqwest::Response, mut text: String) -> String {
    while let Some(chunk) = timeout(PATIENCE, response.chunk())
        .await
        .expect("the rest in time")
        .unwrap()
    {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text
}

/// Reads SSE text until `needle` has arrived; returns all of it.
pub async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    extend_until(response, &mut seen, needle).await;
    seen
}

/// Reads on into `seen` until it contains `needle`; every chunk must come
/// within [`PATIENCE`], and the stream must not end before.
pub async fn extend_until(response: &mut reqwest::Response, seen: &mut String, needle: &str) {
    while !seen.contains(needle) {
        let chunk = timeout(PATIENCE, response.chunk())
            .await
            .expect("the gateway passes each chunk on without waiting for the next")
            .unwrap()
            .expect("the stream went on");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

/// Reads the rest of a body until it ends, cleanly or not.
pub async fn read_to_end(response: reqwest::Response) -> String {
    read_ending(response).await.0
}

/// Reads the rest of a body until it ends; returns the text and whether
/// it ended cleanly (`false`: the connection broke off).
pub async fn read_ending(mut response: reqwest::Response) -> (String, bool) {
    let mut seen = String::new();
    loop {
        match timeout(PATIENCE, response.chunk())
            .await
            .expect("the stream moved on in time")
        {
            Ok(Some(chunk)) => seen.push_str(std::str::from_utf8(&chunk).unwrap()),
            Ok(None) => return (seen, true),
            Err(_) => return (seen, false),
        }
    }
}

/// The JSON of the last `data:` event in SSE `text`.
pub fn last_event(text: &str) -> Value {
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap()
}
