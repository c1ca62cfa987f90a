//! A chat request (the exchange's form) as a `GenerateContentRequest`.
//!
//! System and developer messages become `systemInstruction`; user turns
//! `user`, assistant turns `model`, consecutive turns of one role merged
//! (Gemini wants them alternating). Tool results become `functionResponse`
//! parts of a user turn, named after the assistant call they answer (Gemini
//! matches by name, so the name comes from the `tool_call_id`). Thought
//! signatures go back where they came from: a call's on its
//! `functionCall` part, the message's `reasoning_signature` on its first
//! part. Earlier thinking text is not sent back (Gemini needs only the
//! signatures).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::config;
use crate::error::AppError;
use crate::wire::gemini::MADE_UP_ID_PREFIX;

/// The signature Gemini documents for function calls it did not make (a
/// history from another model): it skips the signature check.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The `GenerateContentRequest` for a chat request.
pub fn generate_request(chat: &Value) -> Result<Value, AppError> {
    let messages = chat
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`messages` must be an array".into()))?;
    let names = call_names(messages);
    let mut system = Vec::new();
    let mut contents = Contents::default();
    for (position, message) in messages.iter().enumerate() {
        match message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "system" | "developer" => system.extend(text_parts(message.get("content"))),
            "user" => contents.push("user", user_parts(position, message.get("content"))?),
            "assistant" => contents.push("model", model_parts(message)),
            "tool" | "function" => {
                contents.push("user", vec![function_response(position, message, &names)?]);
            }
            other => {
                return Err(invalid(format!(
                    "messages[{position}]: role `{}` has no Gemini counterpart",
                    other.escape_default()
                )));
            }
        }
    }
    let mut request = Map::new();
    request.insert("contents".into(), Value::Array(contents.0));
    if !system.is_empty() {
        request.insert("systemInstruction".into(), json!({"parts": system}));
    }
    config::apply(chat, &mut request)?;
    Ok(Value::Object(request))
}

fn invalid(message: String) -> AppError {
    AppError::InvalidField {
        param: "messages",
        message,
    }
}

/// `contents` being built: turns of alternating roles.
#[derive(Default)]
struct Contents(Vec<Value>);

impl Contents {
    /// Adds `parts` as a turn of `role`, or to the last turn when it has
    /// that role; nothing for no parts (Gemini refuses an empty turn).
    fn push(&mut self, role: &str, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        if let Some(last) = self.0.last_mut().filter(|turn| turn["role"] == role)
            && let Some(existing) = last.get_mut("parts").and_then(Value::as_array_mut)
        {
            existing.extend(parts);
            return;
        }
        self.0.push(json!({"role": role, "parts": parts}));
    }
}

/// Every assistant tool call's id with its function's name.
fn call_names(messages: &[Value]) -> HashMap<&str, &str> {
    messages
        .iter()
        .filter_map(|m| m.get("tool_calls").and_then(Value::as_array))
        .flatten()
        .filter_map(|call| {
            let id = call.get("id").and_then(Value::as_str)?;
            let name = call.pointer("/function/name").and_then(Value::as_str)?;
            Some((id, name))
        })
        .collect()
}

/// The text of a content (a string, or its `text` parts), as text parts.
fn text_parts(content: Option<&Value>) -> Vec<Value> {
    content_texts(content)
        .into_iter()
        .map(|text| json!({"text": text}))
        .collect()
}

fn content_texts(content: Option<&Value>) -> Vec<&str> {
    let texts: Vec<&str> = match content {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    };
    texts.into_iter().filter(|t| !t.is_empty()).collect()
}

/// A user message's content: text, images, audio and files.
fn user_parts(position: usize, content: Option<&Value>) -> Result<Vec<Value>, AppError> {
    let Some(Value::Array(parts)) = content else {
        return Ok(text_parts(content));
    };
    let mut out = Vec::new();
    for part in parts {
        let media = match part.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = part.get("text").and_then(Value::as_str);
                out.extend(text.filter(|t| !t.is_empty()).map(|t| json!({"text": t})));
                continue;
            }
            Some("image_url") => part
                .pointer("/image_url/url")
                .or_else(|| part.get("image_url").filter(|u| u.is_string()))
                .and_then(Value::as_str),
            Some("file") => part.pointer("/file/file_data").and_then(Value::as_str),
            Some("input_audio") => {
                out.extend(audio_part(part));
                continue;
            }
            _ => continue,
        };
        if let Some(url) = media {
            out.push(media_part(position, url)?);
        }
    }
    Ok(out)
}

/// An `input_audio` part (`{data, format}`) as inline data.
fn audio_part(part: &Value) -> Option<Value> {
    let data = part.pointer("/input_audio/data").and_then(Value::as_str)?;
    let format = part
        .pointer("/input_audio/format")
        .and_then(Value::as_str)
        .unwrap_or("wav");
    let mime = match format {
        "mp3" => "audio/mpeg".to_string(),
        other => format!("audio/{other}"),
    };
    Some(json!({"inlineData": {"mimeType": mime, "data": data}}))
}

/// A `data:` URL as inline data, an http(s) URL as file data.
fn media_part(position: usize, url: &str) -> Result<Value, AppError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (header, data) = rest.split_once(',').unwrap_or((rest, ""));
        let Some(mime) = header.strip_suffix(";base64") else {
            return Err(invalid(format!(
                "messages[{position}]: only base64 `data:` URLs can be sent to Gemini"
            )));
        };
        let mime = match mime.split(';').next() {
            Some(mime) if !mime.is_empty() => mime,
            _ => "application/octet-stream",
        };
        return Ok(json!({"inlineData": {"mimeType": mime, "data": data}}));
    }
    if url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://") {
        return Ok(json!({"fileData": {"mimeType": guess_mime(url), "fileUri": url}}));
    }
    Err(invalid(format!(
        "messages[{position}]: a media URL must be a data:, http(s) or gs:// URL"
    )))
}

/// A MIME type from a URL's extension; `image/jpeg` when unknown (image
/// URLs are what chat parts carry).
fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        Some("pdf") => "application/pdf",
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("mp4") => "video/mp4",
        Some("txt") => "text/plain",
        _ => "image/jpeg",
    }
}

/// An assistant message's parts: its text, its tool calls as
/// `functionCall` parts, its signatures where Gemini put them.
fn model_parts(message: &Value) -> Vec<Value> {
    let mut parts = text_parts(message.get("content"));
    let calls = message.get("tool_calls").and_then(Value::as_array);
    let first_call = parts.len();
    for call in calls.into_iter().flatten() {
        parts.push(function_call(call));
    }
    let signature = message.get("reasoning_signature").and_then(Value::as_str);
    if let (Some(signature), Some(Value::Object(first))) = (signature, parts.first_mut()) {
        first
            .entry("thoughtSignature")
            .or_insert_with(|| json!(signature));
    }
    // A call needs a signature on Gemini 3; a history from elsewhere has
    // none, and the documented placeholder lets it through.
    let signed = parts
        .iter()
        .skip(first_call)
        .any(|p| p.get("thoughtSignature").is_some());
    if let Some(Value::Object(call)) = parts.get_mut(first_call).filter(|_| !signed) {
        call.insert("thoughtSignature".into(), json!(SKIP_SIGNATURE));
    }
    parts
}

/// A chat tool call as a `functionCall` part (its arguments an object:
/// anything else is sent as `{}`).
fn function_call(call: &Value) -> Value {
    let name = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let args = call
        .pointer("/function/arguments")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let mut function_call = json!({"name": name, "args": args});
    if let (Some(id), Some(object)) = (own_id(call.get("id")), function_call.as_object_mut()) {
        object.insert("id".into(), json!(id));
    }
    let mut part = json!({"functionCall": function_call});
    let signature = call
        .pointer("/extra_content/google/thought_signature")
        .and_then(Value::as_str);
    if let (Some(signature), Some(object)) = (signature, part.as_object_mut()) {
        object.insert("thoughtSignature".into(), json!(signature));
    }
    part
}

/// A tool call id worth sending back: not one llm-bridge made up.
fn own_id(id: Option<&Value>) -> Option<&str> {
    id.and_then(Value::as_str)
        .filter(|id| !id.is_empty() && !id.starts_with(MADE_UP_ID_PREFIX))
}

/// A tool result as a `functionResponse` part, named after the call it
/// answers.
fn function_response(
    position: usize,
    message: &Value,
    names: &HashMap<&str, &str>,
) -> Result<Value, AppError> {
    let id = message.get("tool_call_id");
    let name = id
        .and_then(Value::as_str)
        .and_then(|id| names.get(id).copied())
        .or_else(|| message.get("name").and_then(Value::as_str))
        .ok_or_else(|| {
            invalid(format!(
                "messages[{position}]: a tool result must answer an earlier assistant tool call \
                 (its `tool_call_id`)"
            ))
        })?;
    let text = content_texts(message.get("content")).concat();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({"result": text}),
    };
    let mut function_response = json!({"name": name, "response": response});
    if let (Some(id), Some(object)) = (own_id(id), function_response.as_object_mut()) {
        object.insert("id".into(), json!(id));
    }
    Ok(json!({"functionResponse": function_response}))
}
