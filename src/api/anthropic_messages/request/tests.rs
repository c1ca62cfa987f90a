use serde_json::{Value, json};

use super::*;

fn chat(body: Value) -> Value {
    to_chat_request(&body).unwrap()
}

#[test]
fn a_string_system_and_plain_turns() {
    let out = chat(json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a helpful assistant.",
        "messages": [
            {"role": "user", "content": "Hello, Claude"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Can you describe LLMs to me?"}
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
        "stream": true
    }));
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "temperature": 0.5,
            "top_p": 0.9,
            "stream": true,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello, Claude"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Can you describe LLMs to me?"}
            ],
            "stop": ["\n\nHuman:"],
            "user": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
        })
    );
}

#[test]
fn system_blocks_keep_cache_control_and_lose_the_billing_line() {
    let out = chat(json!({
        "model": "claude-sonnet-4-5", "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.0.14.a1b; cc_entrypoint=cli; cch=4f2e1;"},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Working directory: /repo", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>Be careful.</system-reminder>"},
            {"type": "text", "text": "fix the bug", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ]}]
    }));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "system", "content": [
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                {"type": "text", "text": "Working directory: /repo", "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>Be careful.</system-reminder>"},
                {"type": "text", "text": "fix the bug", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ]}
        ])
    );
    assert!(!out.to_string().contains("billing"));
}

#[test]
fn images_become_image_urls() {
    let out = chat(json!({
        "model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
            {"type": "text", "text": "Describe these images."}
        ]}]
    }));
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
            {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
            {"type": "text", "text": "Describe these images."}
        ])
    );
    let file = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}
    ]}]});
    assert_eq!(
        to_chat_request(&file).unwrap_err().code(),
        "unsupported_by_provider"
    );
}

#[test]
fn tool_use_and_tool_results_round_trip() {
    let out = chat(json!({
        "model": "claude-sonnet-4-5", "max_tokens": 1024,
        "tools": [{
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
            "cache_control": {"type": "ephemeral"}
        }],
        "messages": [
            {"role": "user", "content": "What's the weather like in San Francisco and Paris?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should call the tool twice.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
                {"type": "text", "text": "I'll check both."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA"}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"location": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": true, "content": [
                    {"type": "text", "text": "timeout"}, {"type": "text", "text": "retry later"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]},
                {"type": "text", "text": "Summarise, please."}
            ]}
        ]
    }));
    assert_eq!(
        out["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }, "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "What's the weather like in San Francisco and Paris?"},
            {"role": "assistant", "content": "I'll check both.",
             "reasoning_content": "I should call the tool twice.",
             "reasoning_signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h",
             "tool_calls": [
                {"id": "toolu_01A09q90qw90lq917835lq9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"San Francisco, CA\"}"}},
                {"id": "toolu_02", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}
             ]},
            {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
            {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: timeout\nretry later"},
            {"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "Summarise, please."}
            ]}
        ])
    );
}

#[test]
fn a_tool_only_user_turn_has_no_user_message() {
    let out = chat(json!({"model": "m", "max_tokens": 5, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": ""}
        ])
    );
}

#[test]
fn tool_choice_variants() {
    let cases = [
        (json!({"type": "auto"}), json!("auto"), None),
        (json!({"type": "any"}), json!("required"), None),
        (json!({"type": "none"}), json!("none"), None),
        (
            json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}),
            json!({"type": "function", "function": {"name": "get_weather"}}),
            Some(json!(false)),
        ),
        (
            json!({"type": "auto", "disable_parallel_tool_use": false}),
            json!("auto"),
            None,
        ),
    ];
    for (choice, expected, parallel) in cases {
        let out =
            chat(json!({"model": "m", "max_tokens": 5, "messages": [], "tool_choice": choice}));
        assert_eq!(out["tool_choice"], expected, "{choice}");
        assert_eq!(
            out.get("parallel_tool_calls").cloned(),
            parallel,
            "{choice}"
        );
    }
}

#[test]
fn server_tools_are_refused() {
    let body = json!({"model": "m", "max_tokens": 5, "messages": [], "tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
    ]});
    let error = to_chat_request(&body).unwrap_err();
    assert_eq!(error.code(), "unsupported_by_provider");
    let custom = json!({"model": "m", "max_tokens": 5, "messages": [], "tools": [
        {"type": "custom", "name": "f", "input_schema": {"type": "object"}}
    ]});
    assert_eq!(chat(custom)["tools"][0]["function"]["name"], "f");
}

#[test]
fn thinking_budgets_become_efforts() {
    let effort = |thinking: Value| {
        chat(json!({"model": "m", "max_tokens": 20000, "messages": [], "thinking": thinking}))
            .get("reasoning_effort")
            .cloned()
    };
    assert_eq!(
        effort(json!({"type": "enabled", "budget_tokens": 1024})),
        Some(json!("low"))
    );
    assert_eq!(
        effort(json!({"type": "enabled", "budget_tokens": 2048})),
        Some(json!("low"))
    );
    assert_eq!(
        effort(json!({"type": "enabled", "budget_tokens": 8192})),
        Some(json!("medium"))
    );
    assert_eq!(
        effort(json!({"type": "enabled", "budget_tokens": 16000})),
        Some(json!("high"))
    );
    assert_eq!(effort(json!({"type": "disabled"})), None);
    assert_eq!(effort(json!({"type": "adaptive"})), None);
}

#[test]
fn documents_are_refused_and_odd_shapes_skipped() {
    let pdf = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    ]}]});
    assert_eq!(
        to_chat_request(&pdf).unwrap_err().code(),
        "unsupported_by_provider"
    );
    let odd = json!({"model": "m", "max_tokens": 5, "system": 7, "messages": [
        {"role": "user", "content": 5}, "not a turn", {"role": "user", "content": [{"no": "type"}, 3]}
    ]});
    assert_eq!(chat(odd)["messages"], json!([]));
}
