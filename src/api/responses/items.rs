//! A Responses `input` item list written as chat messages.
//!
//! - `message` items (or items with a `role` and no `type`): `developer`
//!   and `system` become system messages; content is a string or parts:
//!   `input_text`/`output_text` are text, `input_image` with an
//!   `image_url` an image (a `file_id` needs OpenAI's file store:
//!   refused), `input_file` and `input_audio` refused. A part's
//!   `cache_control` is kept (the exchange's convention).
//! - `function_call` items become the `tool_calls` of an assistant
//!   message: consecutive calls share one, and join a directly preceding
//!   assistant message, as chat writes one turn.
//! - `function_call_output` items become `tool` messages.
//! - `reasoning` items give the next assistant message its
//!   `reasoning_content` (the `reasoning_text` content, else the summary
//!   texts) and `reasoning_signature` (`encrypted_content`, which
//!   llm-bridge's own rendering fills with an Anthropic signature). Their
//!   ids are dropped, as are every item's `id` and `status`.
//! - `item_reference` and hosted tools' items need stored state: refused.

use serde_json::{Map, Value, json};

use super::request::invalid;
use crate::error::AppError;

/// The chat messages for `items`, in order.
pub fn to_messages(items: &[Value]) -> Result<Vec<Value>, AppError> {
    let mut turns = Turns::default();
    for item in items {
        if !item.is_object() {
            return Err(invalid("input", "every `input` item must be an object"));
        }
        let kind = item.get("type").and_then(Value::as_str);
        match kind {
            Some("message") | None => turns.message(item)?,
            Some("function_call") => turns.call(item)?,
            Some("function_call_output") => turns.output(item)?,
            Some("reasoning") => turns.reasoning(item),
            Some(other) => {
                return Err(AppError::Unsupported(format!(
                    "`{other}` input items cannot be translated for this model's provider"
                )));
            }
        }
    }
    Ok(turns.messages)
}

/// The messages written so far, and what the next assistant message takes.
#[derive(Default)]
struct Turns {
    messages: Vec<Value>,
    /// `reasoning_content` and `reasoning_signature` waiting for an
    /// assistant message.
    reasoning: Option<(String, Option<String>)>,
    /// Whether the last message is an assistant turn that may take more
    /// tool calls.
    open_assistant: bool,
}

impl Turns {
    fn message(&mut self, item: &Value) -> Result<(), AppError> {
        let role = match item.get("role").and_then(Value::as_str) {
            Some("developer" | "system") => "system",
            Some(role @ ("user" | "assistant")) => role,
            _ => {
                return Err(invalid(
                    "input",
                    "a message's `role` must be user, assistant, system or developer",
                ));
            }
        };
        let content = content(item.get("content"), role)?;
        let mut message = json!({"role": role, "content": content});
        if role == "assistant" {
            self.take_reasoning(&mut message);
        }
        self.push(message, role == "assistant");
        Ok(())
    }

    fn call(&mut self, item: &Value) -> Result<(), AppError> {
        let field = |name: &str| item.get(name).and_then(Value::as_str);
        let (Some(call_id), Some(name)) = (field("call_id"), field("name")) else {
            return Err(invalid(
                "input",
                "a `function_call` needs `call_id` and `name`",
            ));
        };
        let call = json!({"id": call_id, "type": "function",
            "function": {"name": name, "arguments": field("arguments").unwrap_or("")}});
        let last = self.messages.last_mut().filter(|_| self.open_assistant);
        if let Some(message) = last {
            if message.get("reasoning_content").is_none() {
                Self::give_reasoning(&mut self.reasoning, message);
            }
            match message.get_mut("tool_calls").and_then(Value::as_array_mut) {
                Some(calls) => calls.push(call),
                None => message["tool_calls"] = json!([call]),
            }
            return Ok(());
        }
        let mut message = json!({"role": "assistant", "content": null, "tool_calls": [call]});
        self.take_reasoning(&mut message);
        self.push(message, true);
        Ok(())
    }

    fn output(&mut self, item: &Value) -> Result<(), AppError> {
        let Some(call_id) = item.get("call_id").and_then(Value::as_str) else {
            return Err(invalid(
                "input",
                "a `function_call_output` needs a `call_id`",
            ));
        };
        let output = match item.get("output") {
            Some(Value::String(text)) => json!(text),
            Some(Value::Array(parts)) => parts_to_chat(parts, "tool")?,
            _ => {
                return Err(invalid(
                    "input",
                    "a `function_call_output` needs an `output`",
                ));
            }
        };
        let message = json!({"role": "tool", "tool_call_id": call_id, "content": output});
        self.push(message, false);
        Ok(())
    }

    fn reasoning(&mut self, item: &Value) {
        let texts = |list: &str| -> Vec<String> {
            let parts = item.get(list).and_then(Value::as_array);
            let texts = parts.into_iter().flatten();
            texts
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
                .collect()
        };
        let mut text = texts("content");
        if text.is_empty() {
            text = texts("summary");
        }
        let signature = item.get("encrypted_content").and_then(Value::as_str);
        let (pending, pending_signature) = self.reasoning.get_or_insert_default();
        for piece in text {
            if !pending.is_empty() {
                pending.push_str("\n\n");
            }
            pending.push_str(&piece);
        }
        if let Some(signature) = signature {
            *pending_signature = Some(signature.to_string());
        }
    }

    fn take_reasoning(&mut self, message: &mut Value) {
        Self::give_reasoning(&mut self.reasoning, message);
    }

    fn give_reasoning(reasoning: &mut Option<(String, Option<String>)>, message: &mut Value) {
        if let Some((text, signature)) = reasoning.take() {
            message["reasoning_content"] = json!(text);
            if let Some(signature) = signature {
                message["reasoning_signature"] = json!(signature);
            }
        }
    }

    fn push(&mut self, message: Value, open_assistant: bool) {
        self.messages.push(message);
        self.open_assistant = open_assistant;
    }
}

/// A message's content for chat: a string as it is; parts converted, an
/// assistant's or a system message's text joined into one string (what
/// every chat server takes for those roles).
fn content(content: Option<&Value>, role: &str) -> Result<Value, AppError> {
    match content {
        Some(Value::String(text)) => Ok(json!(text)),
        Some(Value::Array(parts)) => {
            let parts = parts_to_chat(parts, role)?;
            let plain = parts.as_array().is_some_and(|parts| {
                parts.iter().all(|p| {
                    p.get("type") == Some(&json!("text")) && p.get("cache_control").is_none()
                })
            });
            match (role, plain) {
                ("assistant" | "system", true) => Ok(json!(joined_text(&parts))),
                _ => Ok(parts),
            }
        }
        _ => Err(invalid(
            "input",
            "a message's `content` must be a string or an array",
        )),
    }
}

fn joined_text(parts: &Value) -> String {
    let parts = parts.as_array().map_or(&[][..], Vec::as_slice);
    parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

/// Content parts as chat's.
fn parts_to_chat(parts: &[Value], role: &str) -> Result<Value, AppError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let mut chat = part_to_chat(part, role)?;
        if let (Some(cache), Some(object)) = (part.get("cache_control"), chat.as_object_mut()) {
            object.insert("cache_control".into(), cache.clone());
        }
        out.push(chat);
    }
    Ok(Value::Array(out))
}

fn part_to_chat(part: &Value, role: &str) -> Result<Value, AppError> {
    let text = |field: &str| part.get(field).and_then(Value::as_str).unwrap_or_default();
    match part.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text") => {
            Ok(json!({"type": "text", "text": text("text")}))
        }
        Some("refusal") => Ok(json!({"type": "text", "text": text("refusal")})),
        Some("input_image") if role != "assistant" => image(part),
        Some(kind @ ("input_image" | "input_file" | "input_audio")) => Err(AppError::Unsupported(
            format!("`{kind}` content cannot be translated for this model's provider"),
        )),
        _ => Err(invalid("input", "unknown content part type")),
    }
}

/// An `input_image` as chat's `image_url` part.
fn image(part: &Value) -> Result<Value, AppError> {
    let Some(url) = part.get("image_url").and_then(Value::as_str) else {
        return Err(match part.get("file_id") {
            Some(_) => AppError::Unsupported(
                "an `input_image` by `file_id` needs OpenAI's file store; send its `image_url` \
                 (a URL or a data: URL)"
                    .into(),
            ),
            None => invalid("input", "an `input_image` needs an `image_url`"),
        });
    };
    let mut image = Map::new();
    image.insert("url".into(), json!(url));
    if let Some(detail) = part.get("detail").filter(|d| d.is_string()) {
        image.insert("detail".into(), detail.clone());
    }
    Ok(json!({"type": "image_url", "image_url": image}))
}
