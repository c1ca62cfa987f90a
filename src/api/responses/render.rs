//! Answers in the exchange's form (OpenAI chat) rendered as Responses
//! `response` objects, every field the OpenAI SDK's `Response` type
//! requires present, the request's settings echoed ([`Echo`]).
//!
//! A chat completion's first choice becomes the output: its
//! `reasoning_content` a `reasoning` item (its `reasoning_signature` the
//! item's `encrypted_content`, so a client that sends the item back gives
//! an Anthropic upstream its signature), its content a `message` item, each
//! tool call a `function_call` item. `finish_reason` `length` (and
//! `content_filter`) make the response `incomplete`, with
//! `incomplete_details.reason` `max_output_tokens` (or `content_filter`).

use serde_json::{Map, Value, json};

use crate::wire::openai_chat::usage_from_value;
use crate::wire::responses::usage_value;

/// What of the request a response repeats, with the API's defaults for
/// what the request left out (all of them, by default).
#[derive(Debug, Clone)]
pub struct Echo {
    fields: Map<String, Value>,
}

/// Request fields a response repeats, and their defaults.
fn echoed() -> [(&'static str, Value); 12] {
    [
        ("instructions", Value::Null),
        ("tools", json!([])),
        ("tool_choice", json!("auto")),
        ("parallel_tool_calls", json!(true)),
        ("temperature", Value::Null),
        ("top_p", Value::Null),
        ("text", json!({"format": {"type": "text"}})),
        ("reasoning", json!({"effort": null, "summary": null})),
        ("max_output_tokens", Value::Null),
        ("metadata", json!({})),
        ("user", Value::Null),
        ("truncation", json!("disabled")),
    ]
}

impl Default for Echo {
    fn default() -> Self {
        Self::from_request(&Value::Null)
    }
}

impl Echo {
    /// The echo of a Responses request body.
    pub fn from_request(body: &Value) -> Self {
        let mut fields = Map::new();
        for (name, default) in echoed() {
            let value = body.get(name).filter(|v| !v.is_null()).cloned();
            fields.insert(name.into(), value.unwrap_or(default));
        }
        for name in ["prompt_cache_key", "safety_identifier", "service_tier"] {
            if let Some(value) = body.get(name).filter(|v| !v.is_null()) {
                fields.insert(name.into(), value.clone());
            }
        }
        fields.insert("store".into(), json!(false));
        fields.insert("background".into(), json!(false));
        fields.insert("previous_response_id".into(), Value::Null);
        Self { fields }
    }
}

/// The ids of one response and its items, all from one base (the chat
/// answer's id, so a replayed answer keeps its ids).
#[derive(Debug, Clone)]
pub struct Ids {
    base: String,
}

impl Ids {
    /// Ids from a chat answer's id (a fresh one when it has none).
    pub fn from_chat_id(id: Option<&str>) -> Self {
        let base: String = id
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let base = match base.is_empty() {
            true => uuid::Uuid::new_v4().simple().to_string(),
            false => base,
        };
        Self { base }
    }

    pub fn response(&self) -> String {
        format!("resp_{}", self.base)
    }

    /// The id of the output item at `index`, with its type's prefix
    /// (`msg`, `rs`, `fc`).
    pub fn item(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", self.base)
    }
}

/// A response in progress: no output, no usage yet.
pub fn shell(echo: &Echo, ids: &Ids, created_at: i64, model: &str) -> Map<String, Value> {
    let mut response = Map::new();
    response.insert("id".into(), json!(ids.response()));
    response.insert("object".into(), json!("response"));
    response.insert("created_at".into(), json!(created_at));
    response.insert("status".into(), json!("in_progress"));
    response.insert("error".into(), Value::Null);
    response.insert("incomplete_details".into(), Value::Null);
    response.insert("model".into(), json!(model));
    response.insert("output".into(), json!([]));
    response.insert("usage".into(), Value::Null);
    response.extend(echo.fields.clone());
    response
}

/// The finished response: `output`, the status a chat `finish_reason`
/// calls for, and the usage (a chat `usage` object) when there is one.
pub fn finished(
    mut response: Map<String, Value>,
    output: Vec<Value>,
    finish_reason: Option<&str>,
    chat_usage: Option<&Value>,
) -> Value {
    let incomplete = match finish_reason {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    };
    let (status, details) = match incomplete {
        Some(reason) => ("incomplete", json!({"reason": reason})),
        None => ("completed", Value::Null),
    };
    let usage = chat_usage
        .and_then(usage_from_value)
        .map(|u| usage_value(&u));
    response.insert("status".into(), json!(status));
    response.insert("incomplete_details".into(), details);
    response.insert("output".into(), Value::Array(output));
    response.insert("usage".into(), usage.unwrap_or(Value::Null));
    Value::Object(response)
}

/// An item's status for a chat `finish_reason`.
pub fn item_status(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length" | "content_filter") => "incomplete",
        _ => "completed",
    }
}

pub fn reasoning_item(id: &str, text: &str, signature: Option<&str>) -> Value {
    let summary = match text.is_empty() {
        true => json!([]),
        false => json!([{"type": "summary_text", "text": text}]),
    };
    let mut item = json!({"type": "reasoning", "id": id, "summary": summary});
    if let Some(signature) = signature {
        item["encrypted_content"] = json!(signature);
    }
    item
}

pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "role": "assistant", "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({"type": "function_call", "id": id, "call_id": call_id, "name": name,
        "arguments": arguments, "status": status})
}

/// A whole `chat.completion` as a `response`; `model` names it when the
/// completion does not.
pub fn completion_to_response(completion: &Value, echo: &Echo, model: &str) -> Value {
    let text_of = |value: &Value, field: &str| -> String {
        value
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let ids = Ids::from_chat_id(completion.get("id").and_then(Value::as_str));
    let created = completion.get("created").and_then(Value::as_i64);
    let created = created.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let model = completion
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(model);
    let choice = completion.pointer("/choices/0").unwrap_or(&Value::Null);
    let finish_reason = choice.get("finish_reason").and_then(Value::as_str);
    let status = item_status(finish_reason);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let mut output = Vec::new();
    let reasoning = text_of(message, "reasoning_content");
    let signature = message.get("reasoning_signature").and_then(Value::as_str);
    if !reasoning.is_empty() || signature.is_some() {
        let id = ids.item("rs", output.len());
        output.push(reasoning_item(&id, &reasoning, signature));
    }
    let text = message_text(message);
    if !text.is_empty() {
        output.push(message_item(&ids.item("msg", output.len()), &text, status));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let function = call.get("function").unwrap_or(&Value::Null);
        let id = ids.item("fc", output.len());
        let (name, arguments) = (text_of(function, "name"), text_of(function, "arguments"));
        let item = function_call_item(&id, &text_of(call, "id"), &name, &arguments, status);
        output.push(item);
    }
    let response = shell(echo, &ids, created, model);
    finished(response, output, finish_reason, completion.get("usage"))
}

/// A chat message's text: its content (a string, or its text parts), or
/// its refusal.
fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => message
            .get("refusal")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}
