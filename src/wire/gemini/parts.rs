//! One candidate's `content.parts` read as the exchange's pieces: visible
//! text, thinking (`thought: true` parts), the thinking's signature, and
//! tool calls. Shared by the whole-answer and the stream translation so
//! both give the same ids and fields.

use serde_json::{Value, json};

/// What one part is in the exchange.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    Text(String),
    Reasoning(String),
    /// A `thoughtSignature` on a text or thought part.
    Signature(String),
    /// A whole tool call (`id`, `type`, `function`, maybe `extra_content`).
    ToolCall(Value),
}

/// The pieces of one part, in order; `calls` is how many function calls
/// the candidate had before it (and is counted up), for made-up ids.
pub(super) fn pieces(part: &Value, calls: &mut usize) -> Vec<Piece> {
    let signature = part
        .get("thoughtSignature")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(call) = part.get("functionCall").filter(|c| c.is_object()) {
        let index = *calls;
        *calls += 1;
        return vec![Piece::ToolCall(tool_call(call, index, signature))];
    }
    let mut out = Vec::new();
    if let Some(text) = part
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        out.push(match thought {
            true => Piece::Reasoning(text.to_string()),
            false => Piece::Text(text.to_string()),
        });
    }
    if let Some(signature) = signature {
        out.push(Piece::Signature(signature.to_string()));
    }
    out
}

/// The parts of a candidate, or none.
pub(super) fn parts_of(candidate: &Value) -> &[Value] {
    candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The prefix of the tool-call ids made up for calls Gemini sent without
/// one: `gemini_call_<index>_<name>`, the index counting the candidate's
/// calls from 0. The adapter does not send such ids back to Gemini (they are
/// not its own).
pub const MADE_UP_ID_PREFIX: &str = "gemini_call_";

/// A `functionCall` as a chat tool call, its id Gemini's or made up from
/// its position and name (deterministic, so a replay gives the same ids).
fn tool_call(call: &Value, index: usize, signature: Option<&str>) -> Value {
    let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
    let id = match call.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("{MADE_UP_ID_PREFIX}{index}_{name}"),
    };
    let arguments = call
        .get("args")
        .filter(|a| !a.is_null())
        .map_or_else(|| "{}".to_string(), Value::to_string);
    let mut tool_call = json!({
        "id": id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    });
    if let (Some(signature), Some(object)) = (signature, tool_call.as_object_mut()) {
        object.insert(
            "extra_content".into(),
            json!({"google": {"thought_signature": signature}}),
        );
    }
    tool_call
}
