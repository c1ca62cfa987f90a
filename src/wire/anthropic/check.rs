//! What may be cached of an Anthropic Messages answer: only a complete,
//! successful one.
//!
//! A JSON answer is a `message` object with a `content` array (possibly
//! empty: a turn may end with nothing to say). A stream must have started a
//! message and reached `message_stop`; an `error` event anywhere refuses
//! it. (Status, size and cut streams are checked where the response is
//! read.)

use serde_json::{Map, Value};

use super::usage::merge;
use crate::stream::sse::payloads;
use crate::wire::{BodyKind, Uncacheable};

/// Checks a complete body; on success returns the usage it reports (a
/// stream's merged from `message_start` and its `message_delta`s).
pub fn check(kind: BodyKind, body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    match kind {
        BodyKind::Json => check_json(body),
        BodyKind::Sse => check_sse(body),
    }
}

fn check_json(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
    if is_error(&value) {
        return Err(Uncacheable::ErrorObject);
    }
    let is_message = value.get("type").and_then(Value::as_str) == Some("message");
    if !is_message || !value.get("content").is_some_and(Value::is_array) {
        return Err(Uncacheable::NoChoices);
    }
    Ok(value.get("usage").filter(|u| u.is_object()).cloned())
}

fn check_sse(body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    let mut started = false;
    let mut stopped = false;
    let mut usage: Option<Map<String, Value>> = None;
    for data in payloads(body) {
        let event: Value = serde_json::from_str(&data).map_err(|_| Uncacheable::NotJson)?;
        if is_error(&event) {
            return Err(Uncacheable::ErrorObject);
        }
        let update = match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                started = true;
                event.get("message").and_then(|m| m.get("usage"))
            }
            Some("message_delta") => event.get("usage"),
            Some("message_stop") => {
                stopped = true;
                None
            }
            _ => None,
        };
        if let Some(update) = update.filter(|u| u.is_object()) {
            merge(usage.get_or_insert_with(Map::new), update);
        }
    }
    if !started {
        return Err(Uncacheable::NoChoices);
    }
    if !stopped {
        return Err(Uncacheable::Incomplete);
    }
    Ok(usage.map(Value::Object))
}

/// An error body or event: `{"type":"error","error":{…}}`.
fn is_error(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("error")
        || value.get("error").is_some_and(|e| !e.is_null())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_answers() {
        let ok = br#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[{"type":"text","text":"Hello!"}],"model":"claude-opus-4-6","stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":6}}"#;
        assert_eq!(
            check(BodyKind::Json, ok).unwrap(),
            Some(json!({"input_tokens": 12, "output_tokens": 6}))
        );
        let error =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(check(BodyKind::Json, error), Err(Uncacheable::ErrorObject));
        assert_eq!(
            check(BodyKind::Json, br#"{"type":"message","role":"assistant"}"#),
            Err(Uncacheable::NoChoices)
        );
        assert_eq!(
            check(BodyKind::Json, b"{\"type\""),
            Err(Uncacheable::NotJson)
        );
    }

    const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-opus-4-6\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":10,\"output_tokens\":1}}}\n\n";
    const TEXT: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n";
    const DELTA: &str = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n";
    const STOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn a_whole_stream_gives_its_merged_usage() {
        let whole = format!("{START}{TEXT}{DELTA}{STOP}");
        assert_eq!(
            check(BodyKind::Sse, whole.as_bytes()).unwrap(),
            Some(json!({"input_tokens": 25, "cache_read_input_tokens": 10, "output_tokens": 15}))
        );
    }

    #[test]
    fn cut_or_failed_streams_are_refused() {
        let cut = format!("{START}{TEXT}{DELTA}");
        assert_eq!(
            check(BodyKind::Sse, cut.as_bytes()),
            Err(Uncacheable::Incomplete)
        );
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let failed = format!("{START}{TEXT}{error}{STOP}");
        assert_eq!(
            check(BodyKind::Sse, failed.as_bytes()),
            Err(Uncacheable::ErrorObject)
        );
        assert_eq!(
            check(BodyKind::Sse, STOP.as_bytes()),
            Err(Uncacheable::NoChoices)
        );
    }
}
