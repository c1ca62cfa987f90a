//! What may be cached of an OpenAI chat answer: only a complete,
//! successful one.
//!
//! Never cached: bodies with an `error` object or without choices, streams
//! that did not end with `data: [DONE]` or a finish reason, streams carrying
//! an error event. (Status, size and cut streams are checked where the
//! response is read.)

use serde_json::Value;

use crate::stream::sse::payloads;
use crate::wire::{BodyKind, Uncacheable};

/// Checks a complete body; on success returns the usage it reports.
pub fn check(kind: BodyKind, body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    match kind {
        BodyKind::Json => check_json(body),
        BodyKind::Sse => check_sse(body),
    }
}

fn check_json(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(Uncacheable::ErrorObject);
    }
    match value.get("choices").and_then(Value::as_array) {
        Some(choices) if !choices.is_empty() => {}
        _ => return Err(Uncacheable::NoChoices),
    }
    Ok(value.get("usage").filter(|u| !u.is_null()).cloned())
}

fn check_sse(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    let mut done = false;
    let mut finished = false;
    let mut any_choice = false;
    let mut usage = None;
    for data in payloads(body) {
        if data.trim() == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(&data).map_err(|_| Uncacheable::NotJson)?;
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            return Err(Uncacheable::ErrorObject);
        }
        if let Some(choices) = chunk.get("choices").and_then(Value::as_array) {
            any_choice |= !choices.is_empty();
            finished |= choices
                .iter()
                .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()));
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            usage = Some(u.clone());
        }
    }
    if !any_choice {
        return Err(Uncacheable::NoChoices);
    }
    if !(done || finished) {
        return Err(Uncacheable::Incomplete);
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_answers() {
        let ok = br#"{"choices":[{"message":{"content":"hi"}}],"usage":{"total_tokens":3}}"#;
        assert_eq!(
            check(BodyKind::Json, ok).unwrap().unwrap()["total_tokens"],
            3
        );
        assert_eq!(
            check(BodyKind::Json, br#"{"error":{"message":"x"}}"#),
            Err(Uncacheable::ErrorObject)
        );
        assert_eq!(
            check(BodyKind::Json, br#"{"choices":[]}"#),
            Err(Uncacheable::NoChoices)
        );
        assert_eq!(check(BodyKind::Json, b"{"), Err(Uncacheable::NotJson));
    }

    #[test]
    fn stream_answers() {
        let chunk = r#"{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}"#;
        let last = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        let whole = format!("data: {chunk}\n\ndata: {last}\n\ndata: [DONE]\n\n");
        assert!(check(BodyKind::Sse, whole.as_bytes()).is_ok());
        let no_done = format!("data: {chunk}\r\n\r\ndata: {last}\r\n\r\n");
        assert!(
            check(BodyKind::Sse, no_done.as_bytes()).is_ok(),
            "a finish reason is enough"
        );
        let cut = format!("data: {chunk}\n\n");
        assert_eq!(
            check(BodyKind::Sse, cut.as_bytes()),
            Err(Uncacheable::Incomplete)
        );
        let error = format!("data: {chunk}\n\ndata: {{\"error\":{{\"message\":\"x\"}}}}\n\n");
        assert_eq!(
            check(BodyKind::Sse, error.as_bytes()),
            Err(Uncacheable::ErrorObject)
        );
        assert_eq!(
            check(BodyKind::Sse, b"data: [DONE]\n\n"),
            Err(Uncacheable::NoChoices)
        );
    }

    #[test]
    fn sse_data_joins_lines_and_skips_comments() {
        let body = b": keep-alive\n\ndata: a\ndata: b\n\nevent: x\ndata: c";
        assert_eq!(payloads(body), ["a\nb", "c"]);
    }
}
