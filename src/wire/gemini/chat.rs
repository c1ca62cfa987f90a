//! A whole `GenerateContentResponse` as a `chat.completion`: each
//! candidate a choice (Gemini returns several for `candidateCount`), its
//! parts read by [`super::parts`], its `finishReason` mapped by
//! [`super::finish_reason`], `usageMetadata` as chat usage.

use serde_json::{Map, Value, json};

use super::parts::{Piece, parts_of, pieces};
use super::{chat_usage, finish_reason};

/// The `chat.completion` for a Gemini answer, named `model`, made at
/// `created` (Unix seconds); its id is Gemini's `responseId` when there is
/// one.
pub fn to_chat_completion(response: &Value, model: &str, created: i64) -> Value {
    let candidates = response
        .get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut choices: Vec<Value> = candidates
        .iter()
        .enumerate()
        .map(|(position, candidate)| choice(position, candidate))
        .collect();
    if let Some(blocked) = blocked_prompt(response).filter(|_| choices.is_empty()) {
        choices.push(choice(0, &blocked));
    }
    let mut completion = json!({
        "id": response_id(response, created),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
    });
    if let (Some(usage), Some(object)) = (
        response.get("usageMetadata").and_then(chat_usage),
        completion.as_object_mut(),
    ) {
        object.insert("usage".into(), usage);
    }
    completion
}

/// Gemini's `responseId`, or one made from `created` when it sent none.
pub(super) fn response_id(response: &Value, created: i64) -> String {
    match response.get("responseId").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("chatcmpl-gemini-{created}"),
    }
}

/// For a blocked prompt (no candidates, a `promptFeedback.blockReason`):
/// an empty candidate ended by the block, so a client sees a
/// `content_filter` finish rather than no choice at all.
pub(super) fn blocked_prompt(response: &Value) -> Option<Value> {
    let candidates = response.get("candidates").and_then(Value::as_array);
    if candidates.is_some_and(|c| !c.is_empty()) {
        return None;
    }
    response
        .pointer("/promptFeedback/blockReason")
        .filter(|reason| reason.is_string())
        .map(|_| json!({"finishReason": "PROHIBITED_CONTENT", "index": 0}))
}

/// A candidate's `index`, or its position.
pub(super) fn candidate_index(position: usize, candidate: &Value) -> u64 {
    candidate
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(position as u64)
}

fn choice(position: usize, candidate: &Value) -> Value {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut signature: Option<String> = None;
    let mut tool_calls = Vec::new();
    let mut calls = 0;
    for part in parts_of(candidate) {
        for piece in pieces(part, &mut calls) {
            match piece {
                Piece::Text(text) => content.push_str(&text),
                Piece::Reasoning(text) => reasoning.push_str(&text),
                // The first one is kept: it goes back on the first part.
                Piece::Signature(found) => {
                    signature.get_or_insert(found);
                }
                Piece::ToolCall(call) => tool_calls.push(call),
            }
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = match content.is_empty() && !tool_calls.is_empty() {
        true => Value::Null,
        false => json!(content),
    };
    message.insert("content".into(), content);
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), json!(reasoning));
    }
    if let Some(signature) = signature {
        message.insert("reasoning_signature".into(), json!(signature));
    }
    let has_calls = !tool_calls.is_empty();
    if has_calls {
        message.insert("tool_calls".into(), json!(tool_calls));
    }
    let reason = candidate
        .get("finishReason")
        .and_then(Value::as_str)
        .unwrap_or("STOP");
    json!({
        "index": candidate_index(position, candidate),
        "message": message,
        "finish_reason": finish_reason(reason, has_calls),
    })
}
