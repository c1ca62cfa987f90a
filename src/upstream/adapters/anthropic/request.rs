//! An exchange (OpenAI chat) request written as an Anthropic Messages
//! request ([`messages_request`]).
//!
//! Mapped: `messages` (see `messages.rs`), `max_completion_tokens` /
//! `max_tokens` (else the provider's default: Anthropic requires one),
//! `stop` → `stop_sequences`, `temperature` (capped at 1, Anthropic's
//! highest), `top_p`, `tools` → `{name, description, input_schema}`,
//! `tool_choice`, `parallel_tool_calls: false` →
//! `tool_choice.disable_parallel_tool_use`, `user` → `metadata.user_id`,
//! `reasoning_effort` → `thinking` with a token budget, `stream`, `model`.
//!
//! Dropped, having no Anthropic counterpart: `frequency_penalty`,
//! `presence_penalty`, `logit_bias`, `logprobs`, `top_logprobs`, `seed`,
//! `response_format`, `stream_options`, `service_tier`, `store`,
//! `metadata`, `modalities`, `audio`, `prediction`, `verbosity`,
//! `web_search_options`, `functions` / `function_call` (the legacy form of
//! tools), and `n` of 1. More than one choice (`n` > 1) is refused:
//! Anthropic writes one answer per request.

use serde_json::{Map, Value, json};

use super::messages::conversation;
use crate::error::AppError;
use crate::error::invalid;

/// Thinking budgets for OpenAI's `reasoning_effort`: Anthropic's minimum
/// (1024), and four and sixteen times it.
const BUDGETS: [(&str, u64); 3] = [("low", 1024), ("medium", 4096), ("high", 16384)];

/// The Messages request for an exchange request `chat`, sent for `model`.
pub fn messages_request(
    chat: &Value,
    model: &str,
    stream: bool,
    default_max_tokens: u32,
) -> Result<Value, AppError> {
    let chat = chat
        .as_object()
        .ok_or_else(|| AppError::InvalidJson("request body must be a JSON object".into()))?;
    if chat.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(AppError::Unsupported(
            "Anthropic's Messages API writes one answer per request; `n` must be 1".into(),
        ));
    }
    let messages = chat
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages", "`messages` must be a list of messages"))?;
    let conversation = conversation(messages)?;
    let mut request = Map::new();
    request.insert("model".into(), json!(model));
    request.insert("messages".into(), Value::Array(conversation.messages));
    if let Some(system) = conversation.system {
        request.insert("system".into(), system);
    }
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|name| chat.get(*name).and_then(Value::as_u64))
        .unwrap_or(u64::from(default_max_tokens));
    request.insert("max_tokens".into(), json!(max_tokens));
    if let Some(stop) = stop_sequences(chat.get("stop")) {
        request.insert("stop_sequences".into(), stop);
    }
    if let Some(temperature) = chat.get("temperature").and_then(Value::as_f64) {
        request.insert("temperature".into(), json!(temperature.min(1.0)));
    }
    if let Some(top_p) = chat.get("top_p").filter(|v| v.is_number()) {
        request.insert("top_p".into(), top_p.clone());
    }
    tools(chat, &mut request)?;
    if let Some(user) = chat.get("user").and_then(Value::as_str) {
        request.insert("metadata".into(), json!({"user_id": user}));
    }
    thinking(chat, &mut request);
    request.insert("stream".into(), json!(stream));
    Ok(Value::Object(request))
}

/// `stop` (a string or a list) as `stop_sequences`, empty ones left out.
fn stop_sequences(stop: Option<&Value>) -> Option<Value> {
    let sequences: Vec<&str> = match stop? {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let sequences: Vec<&str> = sequences.into_iter().filter(|s| !s.is_empty()).collect();
    (!sequences.is_empty()).then(|| json!(sequences))
}

/// `tools` and `tool_choice`; a choice without tools is left out
/// (Anthropic refuses one).
fn tools(chat: &Map<String, Value>, request: &mut Map<String, Value>) -> Result<(), AppError> {
    let Some(tools) = chat.get("tools").and_then(Value::as_array) else {
        return Ok(());
    };
    let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
    if tools.is_empty() {
        return Ok(());
    }
    request.insert("tools".into(), Value::Array(tools));
    let mut choice = match chat.get("tool_choice") {
        Some(Value::String(mode)) => match mode.as_str() {
            "required" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            _ => json!({"type": "auto"}),
        },
        Some(Value::Object(named)) => {
            let name = named
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice", "a named tool_choice needs function.name"))?;
            json!({"type": "tool", "name": name})
        }
        _ => json!({"type": "auto"}),
    };
    let serial = chat.get("parallel_tool_calls") == Some(&Value::Bool(false));
    if serial && choice["type"] != "none" {
        choice["disable_parallel_tool_use"] = json!(true);
    }
    // `auto` with nothing else is Anthropic's default: left implicit.
    if choice != json!({"type": "auto"}) || chat.contains_key("tool_choice") {
        request.insert("tool_choice".into(), choice);
    }
    Ok(())
}

/// A chat function tool as an Anthropic tool.
fn tool(tool: &Value) -> Result<Value, AppError> {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Err(AppError::Unsupported(
            "only function tools have a counterpart in Anthropic's Messages API".into(),
        ));
    }
    let function = tool
        .get("function")
        .ok_or_else(|| invalid("tools", "a function tool needs a `function`"))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("tools", "a function tool needs a name"))?;
    let schema = function
        .get("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    let mut out = json!({"name": name, "input_schema": schema});
    if let Some(description) = function.get("description").and_then(Value::as_str) {
        out["description"] = json!(description);
    }
    if let Some(control) = tool.get("cache_control").filter(|c| !c.is_null()) {
        out["cache_control"] = control.clone();
    }
    Ok(out)
}

/// `reasoning_effort` as extended thinking. `max_tokens` must exceed the
/// budget, so it grows by the budget when it does not (the answer keeps
/// the room asked for); Anthropic refuses `temperature` and a `top_p`
/// under 0.95 with thinking on. A forced tool choice (`any`, `tool`)
/// cannot be combined with thinking: the tool choice wins, as the
/// explicit ask, and thinking stays off.
fn thinking(chat: &Map<String, Value>, request: &mut Map<String, Value>) {
    let effort = chat.get("reasoning_effort").and_then(Value::as_str);
    let Some((_, budget)) = BUDGETS.iter().find(|(name, _)| Some(*name) == effort) else {
        return;
    };
    let forced = request
        .get("tool_choice")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "any" || t == "tool");
    if forced {
        return;
    }
    request.insert(
        "thinking".into(),
        json!({"type": "enabled", "budget_tokens": budget}),
    );
    let max_tokens = request
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if max_tokens <= *budget {
        request.insert("max_tokens".into(), json!(max_tokens + budget));
    }
    request.remove("temperature");
    if request
        .get("top_p")
        .and_then(Value::as_f64)
        .is_some_and(|p| p < 0.95)
    {
        request.remove("top_p");
    }
}
