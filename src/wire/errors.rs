//! Upstream error answers for clients of another API: the message read
//! from whichever shape the provider wrote (OpenAI's `{"error":{"message",
//! "type","code"}}`, Anthropic's `{"type":"error","error":{"type",
//! "message"}}`, Gemini's `{"error":{"code","message","status"}}`, or a
//! page of text), and written again in the client's shape with the same
//! status.
//!
//! The code is stable and chosen by the status (Anthropic's names, which
//! cover every class: `invalid_request_error`, `authentication_error`,
//! `permission_error`, `not_found_error`, `request_too_large`,
//! `rate_limit_error`, `overloaded_error`, `timeout_error`, `api_error`);
//! the OpenAI shape's `type` keeps the provider's own name for the error
//! when it gave one. The message is the provider's (keys were already
//! masked on the way in, [`crate::upstream::redact`]).

use axum::body::Bytes;
use serde_json::Value;

use crate::error::{ErrorParts, ErrorShape, anthropic_type};
use crate::wire::Wire;

/// Longest text kept of an error page that is not JSON.
const MAX_TEXT_MESSAGE: usize = 500;

/// What an upstream's error body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    pub message: String,
    /// The provider's name for the error (`overloaded_error`,
    /// `INVALID_ARGUMENT`, `insufficient_quota`), when it gave one.
    pub provider_type: Option<String>,
}

/// Whether an error answer in `wire` reaches a client of `shape` as it is.
pub fn passes(wire: Wire, shape: ErrorShape) -> bool {
    wire.error_shape().map(ErrorShape::body_family) == Some(shape.body_family())
}

/// The error an upstream's body describes, whatever its shape.
pub fn read(status: u16, body: &[u8]) -> UpstreamError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    // Gemini sometimes wraps its error object in a one-element array.
    let value = match value {
        Some(Value::Array(mut items)) if !items.is_empty() => Some(items.swap_remove(0)),
        other => other,
    };
    let error = value.as_ref().and_then(|v| v.get("error"));
    let message = error
        .and_then(|e| e.get("message").or(Some(e)))
        .and_then(Value::as_str)
        .map(str::to_string);
    let provider_type = error
        .and_then(|e| {
            e.get("type")
                .or_else(|| e.get("status"))
                .or_else(|| e.get("code"))
        })
        .and_then(|t| match t {
            Value::String(text) => Some(text.clone()),
            _ => None,
        });
    let message = message.unwrap_or_else(|| text_message(status, body));
    UpstreamError {
        message,
        provider_type,
    }
}

/// The message of a body that is not a JSON error: its text, shortened, or
/// the status when it has none.
fn text_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("the provider answered with status {status}");
    }
    let end = text
        .char_indices()
        .nth(MAX_TEXT_MESSAGE)
        .map_or(text.len(), |(i, _)| i);
    format!(
        "the provider answered with status {status}: {}",
        &text[..end]
    )
}

/// An upstream's error body written in `shape`.
pub fn rewrite(status: u16, body: &[u8], shape: ErrorShape) -> Bytes {
    let error = read(status, body);
    let code = anthropic_type(status);
    let parts = ErrorParts {
        status,
        message: &error.message,
        kind: error.provider_type.as_deref().unwrap_or(code),
        param: None,
        code,
    };
    Bytes::from(shape.body(&parts).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rewritten(status: u16, body: &str, shape: ErrorShape) -> Value {
        serde_json::from_slice(&rewrite(status, body.as_bytes(), shape)).unwrap()
    }

    #[test]
    fn an_anthropic_overload_reads_as_an_openai_error() {
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            rewritten(529, body, ErrorShape::OpenAi),
            json!({"error": {"message": "Overloaded", "type": "overloaded_error",
                "param": null, "code": "overloaded_error"}})
        );
    }

    #[test]
    fn a_gemini_error_reads_as_an_anthropic_one() {
        let body = r#"[{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}]"#;
        assert_eq!(
            rewritten(400, body, ErrorShape::Anthropic),
            json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": "API key not valid."}})
        );
        let openai = rewritten(400, body, ErrorShape::OpenAi);
        assert_eq!(openai["error"]["type"], "INVALID_ARGUMENT");
        assert_eq!(openai["error"]["code"], "invalid_request_error");
    }

    #[test]
    fn an_openai_error_and_a_page_of_text_read_as_anthropic_ones() {
        let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(
            rewritten(429, body, ErrorShape::Anthropic)["error"],
            json!({"type": "rate_limit_error", "message": "Rate limit reached"})
        );
        let page = rewritten(502, "<html>Bad Gateway</html>", ErrorShape::Anthropic);
        assert_eq!(page["error"]["type"], "api_error");
        assert_eq!(
            page["error"]["message"],
            "the provider answered with status 502: <html>Bad Gateway</html>"
        );
        let empty = rewritten(503, "", ErrorShape::OpenAi);
        assert_eq!(
            empty["error"]["message"],
            "the provider answered with status 503"
        );
    }

    #[test]
    fn only_foreign_shapes_are_rewritten() {
        assert!(passes(Wire::OpenAiChat, ErrorShape::OpenAi));
        assert!(passes(Wire::OpenAiResponses, ErrorShape::Responses));
        assert!(passes(Wire::AnthropicMessages, ErrorShape::Anthropic));
        assert!(!passes(Wire::AnthropicMessages, ErrorShape::OpenAi));
        assert!(!passes(Wire::OpenAiChat, ErrorShape::Anthropic));
        assert!(!passes(Wire::Gemini, ErrorShape::OpenAi));
    }
}
