use serde_json::json;

use super::*;

#[test]
fn a_text_answer() {
    let completion = json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "created": 1741569952,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}}
    });
    assert_eq!(
        render_message(&completion, "gpt-4.1"),
        json!({
            "id": "msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT", "type": "message", "role": "assistant",
            "model": "gpt-4.1",
            "content": [{"type": "text", "text": "Hello! How can I assist you today?"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 19, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 10}
        })
    );
}

#[test]
fn thinking_and_tools() {
    let completion = json!({
        "id": "chatcmpl-9", "object": "chat.completion", "model": "deepseek-reasoner",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me look.",
            "reasoning_content": "The user wants the weather.", "reasoning_signature": "EqQBCgIYAhIM",
            "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                {"id": "", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":"}}
            ]}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50}
    });
    let message = render_message(&completion, "deepseek-reasoner");
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "toolu_llm_bridge_1", "name": "get_time", "input": {}}
        ])
    );
    assert_eq!(message["stop_reason"], "tool_use");
    let unsigned = json!({"choices": [{"message": {"reasoning_content": "hmm", "content": null}, "finish_reason": "length"}]});
    let message = render_message(&unsigned, "m");
    assert_eq!(
        message["content"],
        json!([{"type": "thinking", "thinking": "hmm", "signature": ""}])
    );
    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!(message["id"], "msg_llm_bridge");
}

#[test]
fn usage_identities_hold() {
    // prompt_tokens = input + cache_read + cache_creation.
    let usage = json!({"prompt_tokens": 3000, "completion_tokens": 80, "total_tokens": 3080,
        "prompt_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 500, "cache_write_1h_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 30}});
    let out = anthropic_usage(&usage);
    assert_eq!(
        out,
        json!({"input_tokens": 252, "cache_creation_input_tokens": 700, "cache_read_input_tokens": 2048,
               "output_tokens": 80,
               "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 200}})
    );
    let total = [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .map(|f| out[*f].as_u64().unwrap())
    .sum::<u64>();
    assert_eq!(total, 3000);
    // Inconsistent counts never go below zero.
    let odd = json!({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 50}});
    assert_eq!(anthropic_usage(&odd)["input_tokens"], 0);
    assert_eq!(anthropic_usage(&json!(null))["output_tokens"], 0);
}

#[test]
fn finish_reasons_map_to_stop_reasons() {
    assert_eq!(stop_reason(Some("stop")), "end_turn");
    assert_eq!(stop_reason(Some("length")), "max_tokens");
    assert_eq!(stop_reason(Some("tool_calls")), "tool_use");
    assert_eq!(stop_reason(Some("content_filter")), "refusal");
    assert_eq!(stop_reason(None), "end_turn");
    let refused = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}, "finish_reason": "content_filter"}]});
    let message = render_message(&refused, "m");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "I can't help with that."}])
    );
    assert_eq!(message["stop_reason"], "refusal");
}
