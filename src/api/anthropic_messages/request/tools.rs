//! A Messages request's tools in chat's form: custom tools ({name,
//! description, input_schema}, `cache_control` kept) become function
//! tools; server tools (web search, code execution, … — any `type` other
//! than `custom`) run inside Anthropic's API and are refused for other
//! providers. `tool_choice` {auto|any|tool|none} becomes `auto`,
//! `required`, a named function or `none`; `disable_parallel_tool_use`
//! becomes `parallel_tool_calls: false`.

use serde_json::{Map, Value, json};

use crate::error::AppError;

/// Writes `tools`, `tool_choice` and `parallel_tool_calls` onto `chat`.
pub(super) fn translate(body: &Value, chat: &mut Map<String, Value>) -> Result<(), AppError> {
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let tools = tools
            .iter()
            .map(function_tool)
            .collect::<Result<Vec<_>, _>>()?;
        chat.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = body.get("tool_choice").filter(|c| c.is_object()) {
        if let Some(choice) = tool_choice(choice) {
            chat.insert("tool_choice".into(), choice);
        }
        if choice
            .get("disable_parallel_tool_use")
            .and_then(Value::as_bool)
            == Some(true)
        {
            chat.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    Ok(())
}

fn function_tool(tool: &Value) -> Result<Value, AppError> {
    match tool.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(server) => {
            return Err(AppError::Unsupported(format!(
                "the server tool `{server}` runs only on Anthropic's API; it cannot be sent to this model's provider"
            )));
        }
    }
    let mut function = Map::new();
    function.insert(
        "name".into(),
        tool.get("name").cloned().unwrap_or(json!("")),
    );
    if let Some(description) = tool.get("description").filter(|d| !d.is_null()) {
        function.insert("description".into(), description.clone());
    }
    let parameters = tool
        .get("input_schema")
        .cloned()
        .unwrap_or(json!({"type": "object"}));
    function.insert("parameters".into(), parameters);
    let mut out = json!({"type": "function", "function": function});
    if let (Some(cache), Some(object)) = (tool.get("cache_control"), out.as_object_mut()) {
        object.insert("cache_control".into(), cache.clone());
    }
    Ok(out)
}

fn tool_choice(choice: &Value) -> Option<Value> {
    match choice.get("type").and_then(Value::as_str)? {
        "auto" => Some(json!("auto")),
        "any" => Some(json!("required")),
        "none" => Some(json!("none")),
        "tool" => {
            let name = choice.get("name").cloned().unwrap_or(json!(""));
            Some(json!({"type": "function", "function": {"name": name}}))
        }
        _ => None,
    }
}
