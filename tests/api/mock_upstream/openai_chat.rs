//! The OpenAI chat wire as the mock speaks it (`POST …/chat/completions`):
//! the builders tests script answers with ([`sse_event`], [`SSE_DONE`],
//! [`content_chunk`], [`sse_answer`], [`completion`]), the default reply
//! when nothing is scripted, and [`MockUpstream::push_gated_answer`].
//!
//! It owns only what the answers look like; serving, recording, scripted
//! replies and gates are the parent module's.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{MockOptions, MockUpstream, Reply};

/// `data: {json}\n\n`
pub fn sse_event(value: &Value) -> String {
    format!("data: {value}\n\n")
}

/// The closing SSE event.
pub const SSE_DONE: &str = "data: [DONE]\n\n";

/// A `chat.completion.chunk` with some content.
pub fn content_chunk(model: &str, content: &str) -> Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}],
    })
}

/// A whole streamed answer: role, content pieces, finish reason, usage, DONE.
pub fn sse_answer(model: &str, pieces: &[&str]) -> Vec<String> {
    let mut events = vec![sse_event(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}],
    }))];
    events.extend(pieces.iter().map(|p| sse_event(&content_chunk(model, p))));
    events.push(sse_event(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": pieces.len(), "total_tokens": 5 + pieces.len()},
    })));
    events.push(SSE_DONE.to_string());
    events
}

/// A non-streamed `chat.completion`.
pub fn completion(model: &str, content: &str) -> Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    })
}

impl MockUpstream {
    /// Queues a streamed answer of `pieces` whose role chunk and first
    /// piece go out at once and the rest only after [`MockUpstream::release`];
    /// returns all its events.
    pub fn push_gated_answer(&self, model: &str, pieces: &[&str]) -> Vec<String> {
        let events = sse_answer(model, pieces);
        let (before, after) = events.split_at(2);
        self.push_reply(Reply::GatedSse {
            before: before.to_vec(),
            after: after.to_vec(),
        });
        events
    }
}

/// The answer when nothing is scripted: a JSON completion for
/// `"stream": false`, else an SSE stream of `stream_chunks` content chunks.
pub fn default_reply(options: &MockOptions, request: &Value) -> Reply {
    let model = request["model"].as_str().unwrap_or("mock");
    if request["stream"] == Value::Bool(true) {
        let pieces: Vec<String> = (0..options.stream_chunks)
            .map(|i| format!("tok{i} "))
            .collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Reply::Sse(sse_answer(model, &pieces))
    } else {
        Reply::Json(StatusCode::OK, completion(model, "Hello from the mock"))
    }
}
