//! The Responses dialect against samples of the API's documented
//! requests and chat answers.

use serde_json::{Value, json};

use super::*;
use crate::pipeline::ParsedRequest;

fn parse(body: &Value) -> Result<ResponsesBody, AppError> {
    ResponsesBody::parse(Bytes::from(body.to_string()))
}

fn chat(body: Value) -> Value {
    to_chat_request(&body).unwrap()
}

#[test]
fn a_string_input_is_one_user_message_after_the_instructions() {
    let out = chat(json!({
        "model": "gpt-4.1", "instructions": "Talk like a pirate.",
        "input": "Are semicolons optional in JavaScript?",
        "max_output_tokens": 200, "temperature": 0.7, "top_p": 1, "stream": true,
        "metadata": {"k": "v"}, "store": false, "safety_identifier": "user-123",
        "reasoning": {"effort": "low", "summary": "auto"}
    }));
    assert_eq!(
        out,
        json!({
            "model": "gpt-4.1",
            "messages": [
                {"role": "system", "content": "Talk like a pirate."},
                {"role": "user", "content": "Are semicolons optional in JavaScript?"}
            ],
            "max_completion_tokens": 200, "temperature": 0.7, "top_p": 1, "stream": true,
            "reasoning_effort": "low", "user": "user-123"
        })
    );
}

#[test]
fn function_calls_and_outputs_become_one_assistant_turn_and_tool_messages() {
    let out = chat(json!({
        "model": "gpt-4.1",
        "input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
            {"role": "user", "content": "What's the weather in Paris and Bogotá?"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Two cities."}],
             "encrypted_content": "sig=="},
            {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_12345xyz", "name": "get_weather",
             "arguments": "{\"location\":\"Paris, France\"}"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_67890abc", "name": "get_weather",
             "arguments": "{\"location\":\"Bogotá, Colombia\"}"},
            {"type": "function_call_output", "call_id": "call_12345xyz", "output": "15°C"},
            {"type": "function_call_output", "call_id": "call_67890abc", "output": "18°C"}
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Get current temperature.",
                   "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                                  "required": ["location"], "additionalProperties": false},
                   "strict": true}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": true
    }));
    let call = |id: &str, city: &str| {
        json!({"id": id, "type": "function", "function": {"name": "get_weather",
            "arguments": format!("{{\"location\":\"{city}\"}}")}})
    };
    assert_eq!(
        out["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What's the weather in Paris and Bogotá?"},
            {"role": "assistant", "content": "Checking.", "reasoning_content": "Two cities.",
             "reasoning_signature": "sig==",
             "tool_calls": [call("call_12345xyz", "Paris, France"), call("call_67890abc", "Bogotá, Colombia")]},
            {"role": "tool", "tool_call_id": "call_12345xyz", "content": "15°C"},
            {"role": "tool", "tool_call_id": "call_67890abc", "content": "18°C"}
        ])
    );
    assert_eq!(out["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(out["tools"][0]["function"]["strict"], true);
    assert_eq!(out["tools"][0]["type"], "function");
    assert_eq!(
        out["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
    assert_eq!(out["parallel_tool_calls"], true);
}

#[test]
fn a_function_call_without_text_opens_its_own_turn_with_the_reasoning() {
    let out = chat(json!({"model": "m", "input": [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"},
                                          {"type": "summary_text", "text": "b"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "ok"}]},
        {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"}
    ]}));
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[1]["content"], Value::Null);
    assert_eq!(messages[1]["reasoning_content"], "a\n\nb");
    assert_eq!(messages[1]["tool_calls"][0]["id"], "c1");
    assert_eq!(
        messages[2]["content"],
        json!([{"type": "text", "text": "ok"}])
    );
    assert_eq!(
        messages[3]["tool_calls"][0]["id"], "c2",
        "not merged across a tool result"
    );
}

#[test]
fn images_and_json_schema_formats() {
    let out = chat(json!({
        "model": "gpt-4.1",
        "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "what is in this image?"},
            {"type": "input_image", "image_url": "https://upload.wikimedia.org/boardwalk.jpg", "detail": "low"}
        ]}],
        "text": {"format": {"type": "json_schema", "name": "calendar_event", "strict": true,
                 "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                            "required": ["name"], "additionalProperties": false}},
                 "verbosity": "low"}
    }));
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is in this image?"},
            {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/boardwalk.jpg", "detail": "low"}}
        ])
    );
    assert_eq!(
        out["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "calendar_event", "strict": true,
            "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                       "required": ["name"], "additionalProperties": false}}})
    );
    assert_eq!(out["verbosity"], "low");
    let object =
        chat(json!({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}}));
    assert_eq!(object["response_format"], json!({"type": "json_object"}));
}

#[test]
fn what_needs_openai_is_unsupported() {
    let cases = [
        json!({"model": "m", "input": "x", "tools": [{"type": "web_search_preview"}]}),
        json!({"model": "m", "input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}),
        json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search_preview"}}),
        json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]}),
        json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}),
        json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}),
    ];
    for body in cases {
        let error = to_chat_request(&body).unwrap_err();
        assert_eq!(error.code(), "unsupported_by_provider", "{body}");
        assert_eq!(error.status().as_u16(), 400);
    }
    let bad = json!({"model": "m", "input": [{"role": "robot", "content": "x"}]});
    assert_eq!(
        to_chat_request(&bad).unwrap_err().code(),
        "invalid_parameter"
    );
}

#[test]
fn stateful_features_are_refused_naming_the_field() {
    let cases = [
        (json!({"model": "m", "input": "x", "store": true}), "store"),
        (
            json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "m", "input": "x", "conversation": "conv_1"}),
            "conversation",
        ),
        (
            json!({"model": "m", "input": "x", "background": true}),
            "background",
        ),
        (json!({"model": "m"}), "input"),
        (json!({"model": "m", "input": 3}), "input"),
        (json!({"input": "x"}), "model"),
        (
            json!({"model": "m", "input": "x", "stream": "yes"}),
            "stream",
        ),
    ];
    for (body, param) in cases {
        let error = parse(&body).unwrap_err();
        assert_eq!(error.code(), "invalid_parameter", "{body}");
        assert_eq!(error.body()["error"]["param"], param, "{body}");
    }
    let fine = json!({"model": "m", "input": "x", "store": false, "previous_response_id": null});
    assert!(parse(&fine).is_ok());
}

#[test]
fn the_parsed_body_goes_upstream_in_either_form() {
    let body = parse(&json!({"model": "alias", "input": "hi", "stream": true})).unwrap();
    assert!(body.stream() && !body.wants_stream_usage());
    assert_eq!(body.wire(), Wire::OpenAiResponses);
    let native: Value = serde_json::from_slice(&body.upstream_body("gpt-4.1", true)).unwrap();
    assert_eq!(
        native,
        json!({"model": "gpt-4.1", "input": "hi", "stream": true})
    );
    let hub: Value = serde_json::from_slice(&body.hub_body("claude-x", true).unwrap()).unwrap();
    assert_eq!(
        hub,
        json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}],
               "stream": true, "stream_options": {"include_usage": true}})
    );
    assert_eq!(body.key_fields().len(), 3);
    let prompt = body.prompt();
    assert!((prompt.estimate)("gpt-4.1", &prompt.body) > 0);
}

fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion",
        "created": 1741570283, "model": "claude-sonnet-4-5",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 36, "completion_tokens": 87, "total_tokens": 123,
                  "prompt_tokens_details": {"cached_tokens": 10},
                  "completion_tokens_details": {"reasoning_tokens": 20}}
    })
}

#[test]
fn renders_text_with_the_request_echoed() {
    let echo = Echo::from_request(
        &json!({"model": "m", "input": "x", "instructions": "Be kind.",
        "temperature": 0.5, "metadata": {"a": "b"}}),
    );
    let message = json!({"role": "assistant", "content": "In a peaceful grove...",
        "reasoning_content": "Let me think.", "reasoning_signature": "EqQB"});
    let response = completion_to_response(&completion(message, "stop"), &echo, "fallback");
    let base = "chatcmplB9MHDbslfkBeAs8l4bebGdFOJ6PeG";
    assert_eq!(response["id"], format!("resp_{base}"));
    assert_eq!(response["object"], "response");
    assert_eq!(response["created_at"], 1741570283);
    assert_eq!(response["status"], "completed");
    assert_eq!(response["model"], "claude-sonnet-4-5");
    assert_eq!(response["incomplete_details"], Value::Null);
    assert_eq!(response["error"], Value::Null);
    assert_eq!(response["instructions"], "Be kind.");
    assert_eq!(response["temperature"], 0.5);
    assert_eq!(response["metadata"], json!({"a": "b"}));
    assert_eq!(response["tools"], json!([]));
    assert_eq!(response["tool_choice"], "auto");
    assert_eq!(response["parallel_tool_calls"], true);
    assert_eq!(
        response["output"],
        json!([
            {"type": "reasoning", "id": format!("rs_{base}_0"),
             "summary": [{"type": "summary_text", "text": "Let me think."}], "encrypted_content": "EqQB"},
            {"type": "message", "id": format!("msg_{base}_1"), "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "In a peaceful grove...", "annotations": []}]}
        ])
    );
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 36, "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 0},
               "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 123})
    );
}

#[test]
fn renders_tool_calls_and_a_length_stop_as_incomplete() {
    let message = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_12345xyz", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}}]});
    let response =
        completion_to_response(&completion(message, "tool_calls"), &Echo::default(), "m");
    assert_eq!(response["status"], "completed");
    let call = &response["output"][0];
    assert_eq!(call["type"], "function_call");
    assert!(call["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!(call["call_id"], "call_12345xyz");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["arguments"], "{\"location\":\"Paris, France\"}");
    assert_eq!(call["status"], "completed");

    let message = json!({"role": "assistant", "content": "In a peace"});
    let response = completion_to_response(&completion(message, "length"), &Echo::default(), "m");
    assert_eq!(response["status"], "incomplete");
    assert_eq!(
        response["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(response["output"][0]["status"], "incomplete");
}

#[test]
fn whole_answers_in_either_form() {
    let dialect = Responses {
        echo: Echo::default(),
    };
    let answer = Answered {
        wire: Wire::OpenAiChat,
        model: "m",
    };
    let form = |stream| ReplyForm {
        stream,
        include_usage: false,
        paced: false,
    };
    let body =
        Bytes::from(completion(json!({"role": "assistant", "content": "Hi"}), "stop").to_string());
    let (kind, json) = dialect.whole(answer, BodyKind::Json, &body, form(false));
    let response: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        (kind, response["output"][0]["content"][0]["text"].as_str()),
        (BodyKind::Json, Some("Hi"))
    );
    let (kind, sse) = dialect.whole(answer, BodyKind::Json, &body, form(true));
    assert_eq!(kind, BodyKind::Sse);
    assert_eq!(events_to_response(&sse), response);
    let native = Answered {
        wire: Wire::OpenAiResponses,
        model: "m",
    };
    let (kind, back) = dialect.whole(native, BodyKind::Sse, &sse, form(false));
    assert_eq!(kind, BodyKind::Json);
    assert_eq!(serde_json::from_slice::<Value>(&back).unwrap(), response);
    let (_, same) = dialect.whole(native, BodyKind::Sse, &sse, form(true));
    assert_eq!(same, sse);
}
