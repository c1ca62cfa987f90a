//! What may be cached of a Responses answer: only a complete, successful
//! one — a `response` object with an `output` array and no `error`, or a
//! stream that reached `response.completed` or `response.incomplete`
//! (cut off by `max_output_tokens`, like a chat answer's `length`).
//!
//! Never cached: an `error` object, a `failed` (or still `in_progress`)
//! response, a stream with `response.failed` or an `error` event, a stream
//! that ended before its final event.

use serde_json::Value;

use crate::stream::sse::payloads;
use crate::wire::{BodyKind, Uncacheable};

/// Checks a complete body; on success returns the usage it reports.
pub fn check(kind: BodyKind, body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    match kind {
        BodyKind::Json => {
            let value: Value = serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
            check_response(&value)
        }
        BodyKind::Sse => check_sse(body),
    }
}

/// A whole `response` object: finished, without error, with output.
fn check_response(response: &Value) -> Result<Option<Value>, Uncacheable> {
    if response.get("error").is_some_and(|e| !e.is_null()) {
        return Err(Uncacheable::ErrorObject);
    }
    match response.get("status").and_then(Value::as_str) {
        Some("failed" | "cancelled") => return Err(Uncacheable::ErrorObject),
        Some("in_progress" | "queued") => return Err(Uncacheable::Incomplete),
        _ => {}
    }
    let is_response = response.get("object").and_then(Value::as_str) == Some("response");
    match response.get("output").and_then(Value::as_array) {
        Some(output) if is_response && !output.is_empty() => {}
        _ => return Err(Uncacheable::NoChoices),
    }
    Ok(response.get("usage").filter(|u| !u.is_null()).cloned())
}

fn check_sse(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    for data in payloads(body) {
        let event: Value = serde_json::from_str(&data).map_err(|_| Uncacheable::NotJson)?;
        match event.get("type").and_then(Value::as_str) {
            Some("error" | "response.failed") => return Err(Uncacheable::ErrorObject),
            Some("response.completed" | "response.incomplete") => {
                return check_response(event.get("response").unwrap_or(&Value::Null));
            }
            _ => {}
        }
    }
    Err(Uncacheable::Incomplete)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: &str = r#"{"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}}"#;

    #[test]
    fn json_answers() {
        let value: Value = serde_json::from_str(DONE).unwrap();
        let body = value["response"].to_string();
        let usage = check(BodyKind::Json, body.as_bytes()).unwrap().unwrap();
        assert_eq!(usage["total_tokens"], 6);
        let cases: [(&str, Uncacheable); 5] = [
            ("{", Uncacheable::NotJson),
            (
                r#"{"object":"response","output":[{}],"error":{"code":"server_error","message":"x"}}"#,
                Uncacheable::ErrorObject,
            ),
            (
                r#"{"object":"response","status":"failed","output":[{}]}"#,
                Uncacheable::ErrorObject,
            ),
            (
                r#"{"object":"response","status":"in_progress","output":[]}"#,
                Uncacheable::Incomplete,
            ),
            (
                r#"{"object":"response","output":[]}"#,
                Uncacheable::NoChoices,
            ),
        ];
        for (body, why) in cases {
            assert_eq!(check(BodyKind::Json, body.as_bytes()), Err(why), "{body}");
        }
    }

    #[test]
    fn stream_answers() {
        let created = r#"{"type":"response.created","sequence_number":0,"response":{"object":"response","status":"in_progress","output":[]}}"#;
        let delta = r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi"}"#;
        let head = format!(
            "event: response.created\ndata: {created}\n\nevent: response.output_text.delta\ndata: {delta}\n\n"
        );
        let whole = format!("{head}event: response.completed\ndata: {DONE}\n\n");
        assert_eq!(
            check(BodyKind::Sse, whole.as_bytes()).unwrap().unwrap()["input_tokens"],
            5
        );
        let incomplete = whole.replace("response.completed", "response.incomplete");
        assert!(check(BodyKind::Sse, incomplete.as_bytes()).is_ok());
        assert_eq!(
            check(BodyKind::Sse, head.as_bytes()),
            Err(Uncacheable::Incomplete)
        );
        let failed = whole.replace("response.completed", "response.failed");
        assert_eq!(
            check(BodyKind::Sse, failed.as_bytes()),
            Err(Uncacheable::ErrorObject)
        );
        let error = format!(
            "{head}event: error\ndata: {{\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\",\"param\":null,\"sequence_number\":2}}\n\n"
        );
        assert_eq!(
            check(BodyKind::Sse, error.as_bytes()),
            Err(Uncacheable::ErrorObject)
        );
    }
}
