use axum::body::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::*;

fn adapter() -> Gemini {
    let base = reqwest::Url::parse("https://generativelanguage.googleapis.com/v1beta").unwrap();
    Gemini::new(&base)
}

fn outbound(model: &str, stream: bool, body: Value) -> Outbound {
    Outbound {
        wire: Wire::OpenAiChat,
        body: Bytes::from(body.to_string()),
        model: model.into(),
        stream,
        translated: false,
    }
}

fn hello() -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]})
}

#[test]
fn urls_name_the_model_and_the_stream() {
    let prepared = adapter()
        .prepare(outbound("gemini-2.5-flash", false, hello()))
        .unwrap();
    assert_eq!(
        prepared.url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(prepared.answers, Wire::Gemini);
    let body: Value = serde_json::from_slice(&prepared.body).unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]})
    );
    let streamed = adapter()
        .prepare(outbound("gemini-2.5-flash", true, hello()))
        .unwrap();
    assert_eq!(
        streamed.url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
}

#[test]
fn model_names_that_would_change_the_url_are_refused() {
    for model in ["../files", "a/b", "m?x=1", "m#f", "m n", "", "m%2Fx", "m\n"] {
        let error = adapter()
            .prepare(outbound(model, false, hello()))
            .unwrap_err();
        assert_eq!(error.code(), "invalid_parameter", "{model:?}");
    }
    assert!(
        adapter()
            .prepare(outbound("gemini-2.0-flash-001", false, hello()))
            .is_ok()
    );
}

#[test]
fn only_chat_is_taken_and_the_key_goes_in_its_header() {
    let adapter = adapter();
    assert!(!adapter.speaks(Wire::OpenAiChat));
    let mut messages = outbound("m", false, json!({}));
    messages.wire = Wire::AnthropicMessages;
    assert_eq!(
        adapter.prepare(messages).unwrap_err().code(),
        "unsupported_by_provider"
    );
    assert!(!adapter.forwards(&HeaderName::from_static("anthropic-beta")));
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer old"));
    adapter.authorize(&mut headers, HeaderValue::from_static("Bearer AIzaKey"));
    assert!(headers.get(AUTHORIZATION).is_none());
    assert_eq!(headers["x-goog-api-key"], "AIzaKey");
    assert!(headers["x-goog-api-key"].is_sensitive());
}

#[test]
fn system_roles_merged_and_images() {
    let chat = json!({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Look:"},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.WEBP?size=2"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/photo"}}
        ]},
        {"role": "assistant", "content": "Un chat."},
        {"role": "assistant", "content": "Noir."}
    ]});
    assert_eq!(
        generate_request(&chat).unwrap(),
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
            "contents": [
                {"role": "user", "parts": [
                    {"text": "Look:"},
                    {"text": "What is this?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.WEBP?size=2"}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}}
                ]},
                {"role": "model", "parts": [{"text": "Un chat."}, {"text": "Noir."}]}
            ]
        })
    );
    let bad = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/svg+xml,<svg/>"}}]}]});
    assert_eq!(
        generate_request(&bad).unwrap_err().code(),
        "invalid_parameter"
    );
}

#[test]
fn tool_round_trip_names_results_and_echoes_signatures() {
    let chat = json!({"messages": [
        {"role": "user", "content": "Weather in Paris and London?"},
        {"role": "assistant", "content": null, "reasoning_signature": "sig-text", "tool_calls": [
            {"id": "gemini_call_0_get_weather", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"},
             "extra_content": {"google": {"thought_signature": "sig-call"}}},
            {"id": "fc-2", "type": "function",
             "function": {"name": "get_time", "arguments": "{\"tz\":\"Europe/London\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "gemini_call_0_get_weather", "content": "{\"temp\":21}"},
        {"role": "tool", "tool_call_id": "fc-2", "content": "14:05"}
    ]});
    let request = generate_request(&chat).unwrap();
    assert_eq!(
        request["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}},
             "thoughtSignature": "sig-call"},
            {"functionCall": {"id": "fc-2", "name": "get_time", "args": {"tz": "Europe/London"}}}
        ]}),
        "the call's own signature wins on the first part; made-up ids stay home"
    );
    assert_eq!(
        request["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
            {"functionResponse": {"id": "fc-2", "name": "get_time", "response": {"result": "14:05"}}}
        ]})
    );
    let orphan = json!({"messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]});
    assert_eq!(
        generate_request(&orphan).unwrap_err().code(),
        "invalid_parameter"
    );
}

#[test]
fn signatures_go_on_the_first_part_and_foreign_calls_get_the_placeholder() {
    let chat = json!({"messages": [
        {"role": "assistant", "content": "Sure.", "reasoning_signature": "sig-text"},
        {"role": "user", "content": "Again"},
        {"role": "assistant", "tool_calls": [{"id": "call_abc", "type": "function",
            "function": {"name": "f", "arguments": "not json"}}]}
    ]});
    let request = generate_request(&chat).unwrap();
    assert_eq!(
        request["contents"][0]["parts"],
        json!([{"text": "Sure.", "thoughtSignature": "sig-text"}])
    );
    assert_eq!(
        request["contents"][2]["parts"],
        json!([{"functionCall": {"id": "call_abc", "name": "f", "args": {}},
            "thoughtSignature": "skip_thought_signature_validator"}])
    );
}

#[test]
fn generation_config_and_tools() {
    let chat = json!({
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
        "stop": "END", "n": 2, "seed": 7, "presence_penalty": 0.5, "frequency_penalty": null,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}},
                "required": ["a"], "additionalProperties": false}}},
        "reasoning_effort": "medium",
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": false,
                    "$schema": "http://json-schema.org/draft-07/schema#"}}},
            {"type": "function", "function": {"name": "now",
                "parameters": {"type": "object", "properties": {}}}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false, "stream": true
    });
    let request = generate_request(&chat).unwrap();
    assert_eq!(
        request["generationConfig"],
        json!({"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 200, "stopSequences": ["END"],
            "candidateCount": 2, "seed": 7, "presencePenalty": 0.5,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}},
                "required": ["a"]},
            "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": true}})
    );
    assert_eq!(
        request["tools"],
        json!([{"functionDeclarations": [
            {"name": "get_weather", "description": "Weather", "parameters": {"type": "object",
                "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now"}
        ]}])
    );
    assert_eq!(
        request["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    let mode = |choice: Value| {
        let chat = json!({"messages": [], "tool_choice": choice});
        generate_request(&chat).map(|r| r["toolConfig"]["functionCallingConfig"]["mode"].clone())
    };
    assert_eq!(mode(json!("auto")).unwrap(), "AUTO");
    assert_eq!(mode(json!("none")).unwrap(), "NONE");
    assert_eq!(mode(json!("required")).unwrap(), "ANY");
    assert!(mode(json!("sometimes")).is_err());
    let json_object = json!({"messages": [], "response_format": {"type": "json_object"},
        "reasoning_effort": "low", "stop": ["a", "b"]});
    let config = &generate_request(&json_object).unwrap()["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["stopSequences"], json!(["a", "b"]));
    assert_eq!(config["thinkingConfig"]["thinkingBudget"], 1024);
}

#[test]
fn clean_schema_on_a_nasty_schema() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Order",
        "type": "object",
        "additionalProperties": false,
        "$defs": {
            "Item": {"type": "object", "title": "Item", "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]+$"},
                "qty": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 1},
                "child": {"$ref": "#/$defs/Item"}
            }, "required": ["sku", "ghost"]}
        },
        "properties": {
            "default": {"type": "string", "default": "x", "description": "a property named default"},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "uniqueItems": true,
                "minItems": 1},
            "note": {"type": ["string", "null"], "format": "uri", "examples": ["n"]},
            "kind": {"const": "order"},
            "level": {"enum": [1, 2, null], "description": "Level."},
            "when": {"type": "string", "format": "date-time"},
            "choice": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
            "maybe": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "both": {"allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}
            ]},
            "tags": {"type": "object", "patternProperties": {"^x": {"type": "string"}},
                "propertyNames": {"pattern": "^x"}},
            "cond": {"if": {"type": "string"}, "then": {"minLength": 1}, "type": "string"},
            "list": {"type": "array", "prefixItems": [{"type": "integer"}]},
            "pair": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]}
        },
        "required": ["items", "missing"]
    });
    let expected = json!({
        "type": "object",
        "properties": {
            "default": {"type": "string", "description": "a property named default"},
            "items": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]+$"},
                "qty": {"type": "integer"},
                "child": {"type": "object"}
            }, "required": ["sku"]}},
            "note": {"type": "string", "nullable": true},
            "kind": {"enum": ["order"]},
            "level": {"description": "Level. One of: 1, 2.", "nullable": true},
            "when": {"type": "string", "format": "date-time"},
            "choice": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
            "maybe": {"type": "number", "nullable": true},
            "both": {"type": "object", "properties": {"a": {"type": "string"},
                "b": {"type": "boolean"}}, "required": ["a", "b"]},
            "tags": {"type": "object"},
            "cond": {"type": "string"},
            "list": {"type": "array", "items": {"type": "string"}},
            "pair": {"type": "array", "items": {"type": "integer"}}
        },
        "required": ["items"]
    });
    let cleaned = clean_schema(&schema);
    assert_eq!(cleaned, expected);
    assert_eq!(clean_schema(&cleaned), cleaned, "cleaning is idempotent");
    let text = cleaned.to_string();
    for key in REMOVED_SCHEMA_KEYS {
        assert!(
            !text.contains(&format!("\"{key}\":")) || *key == "default",
            "{key} left"
        );
    }
}
