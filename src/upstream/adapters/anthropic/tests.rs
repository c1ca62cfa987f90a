use serde_json::json;

use super::*;

fn request(chat: Value) -> Value {
    messages_request(&chat, "claude-sonnet-4-5", false, 4096).unwrap()
}

#[test]
fn system_and_developer_messages_join_into_system() {
    let sent = request(json!({"model": "x", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"}]}));
    assert_eq!(sent["system"], "You are terse.\n\nAnswer in French.");
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    );
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["max_tokens"], 4096, "the default when none is asked");
    assert_eq!(sent["stream"], false);
    let cached = request(json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Long rules",
            "cache_control": {"type": "ephemeral"}}]},
        {"role": "system", "content": "More"},
        {"role": "user", "content": "Hi"}]}));
    assert_eq!(
        cached["system"],
        json!([{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "More"}])
    );
}

#[test]
fn consecutive_roles_merge_and_empty_text_is_not_sent() {
    let sent = request(json!({"max_completion_tokens": 300, "messages": [
        {"role": "user", "content": "One"},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "Two"}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Three", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}));
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "One"},
            {"type": "text", "text": "Two"},
            {"type": "text", "text": "Three", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}])
    );
    assert_eq!(sent["max_tokens"], 300);
}

#[test]
fn a_tool_round_trip_groups_results_after_their_turn() {
    let sent = request(json!({"messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "toolu_01", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "toolu_02", "type": "function",
             "function": {"name": "get_weather", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "toolu_01", "content": "18°C"},
        {"role": "tool", "tool_call_id": "toolu_02",
         "content": [{"type": "text", "text": "21°C"}]},
        {"role": "user", "content": "Thanks"}]}));
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18°C"},
                {"type": "tool_result", "tool_use_id": "toolu_02",
                 "content": [{"type": "text", "text": "21°C"}]},
                {"type": "text", "text": "Thanks"}]}])
    );
}

#[test]
fn images_of_both_kinds() {
    let sent = request(json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/a.jpg", "detail": "high"},
         "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Compare them."}]}]}));
    assert_eq!(
        sent["messages"][0]["content"],
        json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/a.jpg"},
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Compare them."}])
    );
    let local = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]});
    let refused = messages_request(&local, "m", false, 1).unwrap_err();
    assert_eq!(refused.code(), "invalid_parameter");
}

#[test]
fn thinking_is_sent_back_only_with_its_signature() {
    let turn = |signature: Value| {
        request(json!({"messages": [
            {"role": "user", "content": "27 * 453?"},
            {"role": "assistant", "content": "12231", "reasoning_content": "27*453 = 12231",
             "reasoning_signature": signature},
            {"role": "user", "content": "Sure?"}]}))["messages"][1]["content"]
            .clone()
    };
    assert_eq!(
        turn(json!("EqQBCgIYAhIM1gbcDa9GJwZA")),
        json!([{"type": "thinking", "thinking": "27*453 = 12231", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA"},
            {"type": "text", "text": "12231"}])
    );
    assert_eq!(
        turn(Value::Null),
        json!([{"type": "text", "text": "12231"}])
    );
}

#[test]
fn reasoning_effort_enables_thinking_above_max_tokens() {
    let sent = request(json!({"messages": [{"role": "user", "content": "Hi"}],
        "reasoning_effort": "medium", "max_tokens": 1000, "temperature": 0.2, "top_p": 0.5}));
    assert_eq!(
        sent["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert_eq!(sent["max_tokens"], 5096);
    assert!(sent.get("temperature").is_none() && sent.get("top_p").is_none());
    let plain = request(json!({"messages": [{"role": "user", "content": "Hi"}],
        "temperature": 1.5, "top_p": 0.9, "user": "u-1", "seed": 7, "logprobs": true}));
    assert!(plain.get("thinking").is_none());
    assert_eq!(
        (&plain["temperature"], &plain["top_p"]),
        (&json!(1.0), &json!(0.9))
    );
    assert_eq!(plain["metadata"], json!({"user_id": "u-1"}));
    assert!(plain.get("seed").is_none() && plain.get("logprobs").is_none());
}

#[test]
fn tools_and_tool_choice() {
    let with = |choice: Value, parallel: Value| {
        let mut chat = json!({"messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"type": "function", "function": {"name": "get_weather",
                "description": "Get the current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
                "cache_control": {"type": "ephemeral"}}]});
        if !choice.is_null() {
            chat["tool_choice"] = choice;
        }
        if !parallel.is_null() {
            chat["parallel_tool_calls"] = parallel;
        }
        request(chat)
    };
    let sent = with(Value::Null, Value::Null);
    assert_eq!(
        sent["tools"],
        json!([{"name": "get_weather", "description": "Get the current weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"}}])
    );
    assert!(sent.get("tool_choice").is_none());
    let choice = |c, p| with(c, p)["tool_choice"].clone();
    assert_eq!(choice(json!("auto"), Value::Null), json!({"type": "auto"}));
    assert_eq!(
        choice(json!("required"), Value::Null),
        json!({"type": "any"})
    );
    assert_eq!(choice(json!("none"), Value::Null), json!({"type": "none"}));
    assert_eq!(
        choice(
            json!({"type": "function", "function": {"name": "get_weather"}}),
            Value::Null
        ),
        json!({"type": "tool", "name": "get_weather"})
    );
    assert_eq!(
        choice(Value::Null, json!(false)),
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        choice(json!("required"), json!(false)),
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
}

#[test]
fn stop_sequences_from_a_string_or_a_list() {
    let stop = |stop: Value| {
        request(json!({"messages": [{"role": "user", "content": "Hi"}], "stop": stop}))
            .get("stop_sequences")
            .cloned()
    };
    assert_eq!(stop(json!("END")), Some(json!(["END"])));
    assert_eq!(stop(json!(["a", "", "b"])), Some(json!(["a", "b"])));
    assert_eq!(stop(Value::Null), None);
}

#[test]
fn refusals() {
    let many = json!({"messages": [{"role": "user", "content": "Hi"}], "n": 2});
    assert_eq!(
        messages_request(&many, "m", false, 1).unwrap_err().code(),
        "unsupported_by_provider"
    );
    let no_messages = json!({"model": "m"});
    assert_eq!(
        messages_request(&no_messages, "m", false, 1)
            .unwrap_err()
            .code(),
        "invalid_parameter"
    );
}

fn outbound(wire: Wire, body: Value) -> Outbound {
    Outbound {
        wire,
        body: Bytes::from(body.to_string()),
        model: "claude-sonnet-4-5".into(),
        stream: true,
        translated: true,
    }
}

#[test]
fn the_adapter_sends_messages_as_they_are_and_translates_chat() {
    let base = reqwest::Url::parse("https://api.anthropic.com/v1").unwrap();
    let adapter = Anthropic::new(&base, 2048);
    assert!(adapter.speaks(Wire::AnthropicMessages) && !adapter.speaks(Wire::OpenAiChat));
    let native = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": []});
    let prepared = adapter
        .prepare(outbound(Wire::AnthropicMessages, native.clone()))
        .unwrap();
    assert_eq!(
        prepared.url.as_str(),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&prepared.body).unwrap(),
        native
    );
    assert_eq!(prepared.headers["anthropic-version"], "2023-06-01");
    assert_eq!(prepared.answers, Wire::AnthropicMessages);
    let chat =
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]});
    let prepared = adapter.prepare(outbound(Wire::OpenAiChat, chat)).unwrap();
    let sent: Value = serde_json::from_slice(&prepared.body).unwrap();
    assert_eq!(
        (&sent["max_tokens"], &sent["stream"]),
        (&json!(2048), &json!(true))
    );
    let embeddings = adapter.prepare(outbound(Wire::OpenAiEmbeddings, json!({})));
    assert_eq!(embeddings.unwrap_err().code(), "unsupported_by_provider");
}

#[test]
fn the_key_goes_in_x_api_key() {
    let base = reqwest::Url::parse("https://api.anthropic.com/v1").unwrap();
    let adapter = Anthropic::new(&base, 1);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer sk-ant-1"),
    );
    adapter.authorize(&mut headers, HeaderValue::from_static("Bearer sk-ant-1"));
    assert!(headers.get(header::AUTHORIZATION).is_none());
    assert_eq!(headers["x-api-key"], "sk-ant-1");
    assert!(adapter.forwards(&HeaderName::from_static("anthropic-beta")));
    assert!(adapter.forwards(&HeaderName::from_static("anthropic-version")));
    assert!(!adapter.forwards(&HeaderName::from_static("openai-organization")));
}
