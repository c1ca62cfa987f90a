//! Gemini's native API as the mock speaks it
//! (`POST …/models/MODEL:generateContent`, and
//! `…:streamGenerateContent?alt=sse`, whose events are
//! `GenerateContentResponse`s with cumulative `usageMetadata` and no
//! `[DONE]`): the builders tests script answers with, errors, and the
//! default replies.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{MockOptions, Reply};

/// A `GenerateContentResponse` of one candidate with these parts.
pub fn gemini_response(parts: Value, finish_reason: &str, usage: Value) -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish_reason,
            "index": 0,
        }],
        "usageMetadata": usage,
        "modelVersion": "gemini-mock",
        "responseId": "mock-response-1",
    })
}

/// A text part.
pub fn gemini_text(text: &str) -> Value {
    json!({"text": text})
}

/// A function call part, without an id (as Gemini 2.x sends them).
pub fn gemini_function_call(name: &str, args: Value) -> Value {
    json!({"functionCall": {"name": name, "args": args}})
}

/// A stream of these responses, one event per string.
pub fn gemini_events(responses: &[Value]) -> Vec<String> {
    responses
        .iter()
        .map(|response| format!("data: {response}\n\n"))
        .collect()
}

/// An error in Gemini's shape.
pub fn gemini_error(status: u16, message: &str) -> Reply {
    let name = match status {
        400 => "INVALID_ARGUMENT",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    Reply::Json(
        StatusCode::from_u16(status).unwrap(),
        json!({"error": {"code": status, "message": message, "status": name}}),
    )
}

fn usage(prompt: u64, candidates: u64) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
           "totalTokenCount": prompt + candidates})
}

/// `:generateContent` when nothing is scripted: "Hello from the mock".
pub fn generate_reply(_options: &MockOptions, _request: &Value) -> Reply {
    let parts = json!([gemini_text("Hello from the mock")]);
    Reply::Json(StatusCode::OK, gemini_response(parts, "STOP", usage(5, 3)))
}

/// `:streamGenerateContent` when nothing is scripted: `stream_chunks`
/// pieces `tok0 `, `tok1 `, …, the usage growing with each, the last with
/// its finish reason.
pub fn stream_reply(options: &MockOptions, _request: &Value) -> Reply {
    let count = options.stream_chunks.max(1);
    let responses: Vec<Value> = (0..count)
        .map(|i| {
            let parts = json!([gemini_text(&format!("tok{i} "))]);
            let mut response = gemini_response(parts, "STOP", usage(5, i as u64 + 1));
            if i + 1 < count {
                response["candidates"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("finishReason");
            }
            response
        })
        .collect();
    Reply::Sse(gemini_events(&responses))
}
