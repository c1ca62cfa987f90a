//! A Responses request written as the exchange's (OpenAI chat) request,
//! for an upstream that does not speak Responses: [`to_chat_request`].
//!
//! Mapped: `instructions` (a leading system message), `input` (a string:
//! one user message; items: see [`items`]), flat function `tools`,
//! `tool_choice`, `max_output_tokens` (`max_completion_tokens`),
//! `reasoning.effort` (`reasoning_effort`), `text.format`
//! (`response_format`), `text.verbosity` (`verbosity`), `temperature`,
//! `top_p`, `parallel_tool_calls`, `prompt_cache_key`, `service_tier`,
//! `stream`, and `user` (or, without it, `safety_identifier`).
//!
//! Dropped, since chat has no counterpart or llm-bridge keeps no state:
//! `metadata`, `store` (false by then: see [`super::body`]), `include`,
//! `truncation`, `reasoning.summary`, `top_logprobs`, `stream_options`,
//! `max_tool_calls`, `prompt`, `conversation`. Hosted tools (web search,
//! file search, computer use, code interpreter, MCP…) need OpenAI's own
//! servers: they are refused as unsupported.

use serde_json::{Map, Value, json};

use super::items;
use crate::error::AppError;

/// Top-level fields copied as they are.
const COPIED: [&str; 6] = [
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "prompt_cache_key",
    "service_tier",
    "stream",
];

/// The chat-completions body for a Responses request body.
pub fn to_chat_request(body: &Value) -> Result<Value, AppError> {
    let mut messages = Vec::new();
    match body.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => messages.push(json!({"role": "system", "content": text})),
        Some(_) => return Err(invalid("instructions", "`instructions` must be a string")),
    }
    match body.get("input") {
        Some(Value::String(text)) => messages.push(json!({"role": "user", "content": text})),
        Some(Value::Array(list)) => messages.extend(items::to_messages(list)?),
        _ => {
            return Err(invalid(
                "input",
                "`input` must be a string or an array of items",
            ));
        }
    }
    let mut chat = Map::new();
    chat.insert(
        "model".into(),
        body.get("model").cloned().unwrap_or(Value::Null),
    );
    chat.insert("messages".into(), Value::Array(messages));
    for field in COPIED {
        if let Some(value) = body.get(field).filter(|v| !v.is_null()) {
            chat.insert(field.into(), value.clone());
        }
    }
    if let Some(tools) = body.get("tools").filter(|v| !v.is_null()) {
        chat.insert("tools".into(), chat_tools(tools)?);
    }
    if let Some(choice) = body.get("tool_choice").filter(|v| !v.is_null()) {
        chat.insert("tool_choice".into(), chat_tool_choice(choice)?);
    }
    if let Some(max) = body.get("max_output_tokens").filter(|v| !v.is_null()) {
        chat.insert("max_completion_tokens".into(), max.clone());
    }
    if let Some(effort) = body.pointer("/reasoning/effort").filter(|v| !v.is_null()) {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(format) = body.pointer("/text/format").filter(|v| !v.is_null()) {
        chat.insert("response_format".into(), response_format(format)?);
    }
    if let Some(verbosity) = body.pointer("/text/verbosity").filter(|v| !v.is_null()) {
        chat.insert("verbosity".into(), verbosity.clone());
    }
    let user = ["user", "safety_identifier"]
        .iter()
        .find_map(|field| body.get(*field).filter(|v| v.is_string()));
    if let Some(user) = user {
        chat.insert("user".into(), user.clone());
    }
    Ok(Value::Object(chat))
}

/// Flat function tools as chat's nested ones; any other tool refused.
fn chat_tools(tools: &Value) -> Result<Value, AppError> {
    let Some(tools) = tools.as_array() else {
        return Err(invalid("tools", "`tools` must be an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for tool in tools {
        match tool.get("type").and_then(Value::as_str) {
            Some("function") => {
                let mut function = Map::new();
                for field in ["name", "description", "parameters", "strict"] {
                    if let Some(value) = tool.get(field).filter(|v| !v.is_null()) {
                        function.insert(field.into(), value.clone());
                    }
                }
                out.push(json!({"type": "function", "function": function}));
            }
            Some(other) => return Err(unsupported_tool(other)),
            None => return Err(invalid("tools", "every tool needs a `type`")),
        }
    }
    Ok(Value::Array(out))
}

fn unsupported_tool(kind: &str) -> AppError {
    AppError::Unsupported(format!(
        "the `{kind}` tool runs on OpenAI's servers and cannot be translated for this \
         model's provider; only `function` tools can"
    ))
}

/// `tool_choice`: the three modes as they are; a named function nested.
fn chat_tool_choice(choice: &Value) -> Result<Value, AppError> {
    if let Some(mode) = choice.as_str() {
        return match mode {
            "auto" | "required" | "none" => Ok(choice.clone()),
            _ => Err(invalid(
                "tool_choice",
                "`tool_choice` must be auto, required, none or a function",
            )),
        };
    }
    match choice.get("type").and_then(Value::as_str) {
        Some("function") => match choice.get("name").and_then(Value::as_str) {
            Some(name) => Ok(json!({"type": "function", "function": {"name": name}})),
            None => Err(invalid(
                "tool_choice",
                "a function `tool_choice` needs a `name`",
            )),
        },
        Some(other) => Err(unsupported_tool(other)),
        None => Err(invalid("tool_choice", "`tool_choice` needs a `type`")),
    }
}

/// `text.format` as chat's `response_format`.
fn response_format(format: &Value) -> Result<Value, AppError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({"type": "text"})),
        Some("json_object") => Ok(json!({"type": "json_object"})),
        Some("json_schema") => {
            let mut schema = Map::new();
            for field in ["name", "description", "schema", "strict"] {
                if let Some(value) = format.get(field).filter(|v| !v.is_null()) {
                    schema.insert(field.into(), value.clone());
                }
            }
            Ok(json!({"type": "json_schema", "json_schema": schema}))
        }
        _ => Err(invalid(
            "text",
            "`text.format.type` must be text, json_object or json_schema",
        )),
    }
}

/// A 400 `invalid_parameter` for `param`.
pub(super) fn invalid(param: &'static str, message: &str) -> AppError {
    crate::api::body::invalid(param, message)
}
