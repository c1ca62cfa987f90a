//! The request-wide parts of a `GenerateContentRequest` from a chat body:
//! `generationConfig` (sampling, limits, stop sequences, structured output,
//! thinking), `tools` (function declarations) and `toolConfig` (the
//! function-calling mode). Chat fields without a Gemini counterpart
//! (`parallel_tool_calls`, `user`, `logit_bias`, …) are left out.

use serde_json::{Map, Value, json};

use super::schema::clean_schema;
use crate::error::AppError;

/// Chat fields copied into `generationConfig` under Gemini's name.
const RENAMED: [(&str, &str); 6] = [
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("n", "candidateCount"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
];

/// Adds `generationConfig`, `tools` and `toolConfig` for `chat` to
/// `request`.
pub(super) fn apply(chat: &Value, request: &mut Map<String, Value>) -> Result<(), AppError> {
    let config = generation_config(chat)?;
    if !config.is_empty() {
        request.insert("generationConfig".into(), Value::Object(config));
    }
    let declarations = function_declarations(chat);
    if !declarations.is_empty() {
        request.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    if let Some(choice) = present(chat, "tool_choice") {
        request.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": calling_config(choice)?}),
        );
    }
    Ok(())
}

/// A field that is there and not `null`.
fn present<'a>(chat: &'a Value, field: &str) -> Option<&'a Value> {
    chat.get(field).filter(|v| !v.is_null())
}

fn generation_config(chat: &Value) -> Result<Map<String, Value>, AppError> {
    let mut config = Map::new();
    for (from, to) in RENAMED {
        if let Some(value) = present(chat, from) {
            config.insert(to.into(), value.clone());
        }
    }
    let max_tokens = present(chat, "max_completion_tokens").or_else(|| present(chat, "max_tokens"));
    if let Some(max) = max_tokens {
        config.insert("maxOutputTokens".into(), max.clone());
    }
    match present(chat, "stop") {
        Some(Value::String(stop)) => {
            config.insert("stopSequences".into(), json!([stop]));
        }
        Some(stops @ Value::Array(_)) => {
            config.insert("stopSequences".into(), stops.clone());
        }
        _ => {}
    }
    if let Some(format) = present(chat, "response_format") {
        response_format(format, &mut config)?;
    }
    if let Some(effort) = present(chat, "reasoning_effort") {
        config.insert("thinkingConfig".into(), thinking_config(effort)?);
    }
    Ok(config)
}

/// `json_object` and `json_schema` as a JSON MIME type (and schema).
fn response_format(format: &Value, config: &mut Map<String, Value>) -> Result<(), AppError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            config.insert("responseMimeType".into(), json!("application/json"));
            if let Some(schema) = format.pointer("/json_schema/schema") {
                config.insert("responseSchema".into(), clean_schema(schema));
            }
        }
        _ => {
            return Err(AppError::InvalidField {
                param: "response_format",
                message: "`response_format.type` must be text, json_object or json_schema".into(),
            });
        }
    }
    Ok(())
}

/// A reasoning effort as a thinking budget, the thoughts included in the
/// answer (they become `reasoning_content`). `none` turns thinking off
/// where the model allows it.
fn thinking_config(effort: &Value) -> Result<Value, AppError> {
    let budget = match effort.as_str() {
        Some("none") => return Ok(json!({"thinkingBudget": 0})),
        Some("minimal") => 512,
        Some("low") => 1024,
        Some("medium") => 8192,
        Some("high") => 24576,
        _ => {
            return Err(AppError::InvalidField {
                param: "reasoning_effort",
                message: "`reasoning_effort` must be none, minimal, low, medium or high".into(),
            });
        }
    };
    Ok(json!({"thinkingBudget": budget, "includeThoughts": true}))
}

/// Chat `tools` of type `function` as Gemini function declarations.
fn function_declarations(chat: &Value) -> Vec<Value> {
    let tools = chat.get("tools").and_then(Value::as_array);
    let functions = tools
        .into_iter()
        .flatten()
        .filter(|tool| {
            tool.get("type")
                .and_then(Value::as_str)
                .unwrap_or("function")
                == "function"
        })
        .filter_map(|tool| tool.get("function"));
    functions
        .filter_map(|function| {
            let name = function.get("name").and_then(Value::as_str)?;
            let mut declaration = json!({"name": name});
            let object = declaration.as_object_mut()?;
            if let Some(description) = function.get("description").filter(|d| d.is_string()) {
                object.insert("description".into(), description.clone());
            }
            // An object without properties is refused ("should be non-empty
            // for OBJECT type"); a function without parameters has none.
            let parameters = function.get("parameters").map(clean_schema);
            if let Some(parameters) = parameters.filter(|p| p.get("properties").is_some()) {
                object.insert("parameters".into(), parameters);
            }
            Some(declaration)
        })
        .collect()
}

/// `tool_choice` as a `functionCallingConfig`.
fn calling_config(choice: &Value) -> Result<Value, AppError> {
    let mode = match choice {
        Value::String(mode) => mode.as_str(),
        Value::Object(_) => {
            if let Some(name) = choice.pointer("/function/name").and_then(Value::as_str) {
                return Ok(json!({"mode": "ANY", "allowedFunctionNames": [name]}));
            }
            ""
        }
        _ => "",
    };
    match mode {
        "auto" => Ok(json!({"mode": "AUTO"})),
        "none" => Ok(json!({"mode": "NONE"})),
        "required" => Ok(json!({"mode": "ANY"})),
        _ => Err(AppError::InvalidField {
            param: "tool_choice",
            message: "`tool_choice` must be auto, none, required or a named function".into(),
        }),
    }
}
