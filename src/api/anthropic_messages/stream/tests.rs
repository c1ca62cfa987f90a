use serde_json::{Value, json};

use super::*;
use crate::stream::sse::{event_name, payloads};

/// A chat stream with reasoning (and its signature), text, two tool calls
/// and a usage chunk, as DeepSeek-style providers send it.
fn chat_stream() -> String {
    let head = r#""id":"chatcmpl-7f3","object":"chat.completion.chunk","created":1741569952,"model":"deepseek-reasoner""#;
    let chunks = [
        r#"{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"reasoning_content":"The user wants "},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"reasoning_content":"the weather."},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"reasoning_signature":"EqQBCgIYAhIM"},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"content":"Checking "},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"content":"both."},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}"#,
        r#"{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}"#,
        r#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#,
    ];
    let mut sse: String = chunks
        .iter()
        .map(|choice| format!("data: {{{head},\"choices\":[{choice}]}}\n\n"))
        .collect();
    sse += &format!(
        "data: {{{head},\"choices\":[],\"usage\":{{\"prompt_tokens\":1200,\"completion_tokens\":80,\"total_tokens\":1280,\"prompt_tokens_details\":{{\"cached_tokens\":1024}}}}}}\n\n"
    );
    sse + "data: [DONE]\n\n"
}

fn render(input: &[u8]) -> String {
    let mut stream = ToMessagesStream::new("deepseek-reasoner");
    let mut out = stream.push(input);
    out.extend(stream.finish());
    String::from_utf8(out).unwrap()
}

fn events(sse: &str) -> Vec<Value> {
    payloads(sse.as_bytes())
        .iter()
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// The Messages stream rules: blocks started in index order from 0, one
/// open at a time, every one stopped, deltas only to the open one, and
/// each event's name its data's type.
fn assert_well_formed(sse: &str) {
    let mut rest = sse.as_bytes();
    while let Some(end) = crate::stream::sse::event_end(rest) {
        let event = &rest[..end];
        let data: Value =
            serde_json::from_str(&crate::stream::sse::event_data(event).unwrap()).unwrap();
        assert_eq!(event_name(event), data["type"].as_str());
        rest = &rest[end..];
    }
    assert!(rest.is_empty());
    let mut open: Option<u64> = None;
    let mut next = 0;
    for event in events(sse) {
        match event["type"].as_str().unwrap() {
            "content_block_start" => {
                assert_eq!(open, None, "{event}");
                assert_eq!(event["index"], next);
                open = Some(next);
                next += 1;
            }
            "content_block_delta" => assert_eq!(event["index"].as_u64(), open),
            "content_block_stop" => {
                assert_eq!(event["index"].as_u64(), open);
                open = None;
            }
            _ => assert_eq!(open, None, "{event}"),
        }
    }
}

#[test]
fn renders_the_exact_event_sequence() {
    let out = render(chat_stream().as_bytes());
    assert_well_formed(&out);
    let start = json!({"type": "message_start", "message": {
        "id": "msg_7f3", "type": "message", "role": "assistant", "model": "deepseek-reasoner",
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}
    }});
    let delta = |index: u64, delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
    let expected = vec![
        start,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        delta(
            0,
            json!({"type": "thinking_delta", "thinking": "The user wants "}),
        ),
        delta(
            0,
            json!({"type": "thinking_delta", "thinking": "the weather."}),
        ),
        delta(
            0,
            json!({"type": "signature_delta", "signature": "EqQBCgIYAhIM"}),
        ),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        delta(1, json!({"type": "text_delta", "text": "Checking "})),
        delta(1, json!({"type": "text_delta", "text": "both."})),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}}),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "{\"location\":"}),
        ),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "\"Paris\"}"}),
        ),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}}),
        delta(3, json!({"type": "input_json_delta", "partial_json": "{}"})),
        json!({"type": "content_block_stop", "index": 3}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": {"input_tokens": 176, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 80}}),
        json!({"type": "message_stop"}),
    ];
    assert_eq!(events(&out), expected);
}

#[test]
fn the_rendered_stream_assembles_into_the_message() {
    let out = render(chat_stream().as_bytes());
    let message = crate::wire::anthropic::forms::events_to_message(out.as_bytes());
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}
        ])
    );
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["usage"]["input_tokens"], 176);
}

#[test]
fn any_split_gives_the_same_output() {
    let input = chat_stream();
    let bytes = input.as_bytes();
    let whole = render(bytes);
    for split in 0..=bytes.len() {
        let mut stream = ToMessagesStream::new("deepseek-reasoner");
        let mut out = stream.push(&bytes[..split]);
        out.extend(stream.push(&bytes[split..]));
        out.extend(stream.finish());
        assert_eq!(String::from_utf8(out).unwrap(), whole, "split at {split}");
    }
    let mut stream = ToMessagesStream::new("deepseek-reasoner");
    let mut out = Vec::new();
    for byte in bytes {
        out.extend(stream.push(std::slice::from_ref(byte)));
    }
    out.extend(stream.finish());
    assert_eq!(String::from_utf8(out).unwrap(), whole);
}

#[test]
fn a_first_token_leaves_at_once() {
    let mut stream = ToMessagesStream::new("gpt-4.1");
    let first = r#"data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#;
    assert!(stream.push(first.as_bytes()).is_empty());
    let out = String::from_utf8(stream.push(b"\n\n")).unwrap();
    let names: Vec<String> = events(&out)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta"
        ]
    );
}

#[test]
fn a_clean_end_without_done_closes_the_message() {
    let sse = "data: {\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"length\"}]}\n\n";
    let out = render(sse.as_bytes());
    assert_well_formed(&out);
    let all = events(&out);
    assert_eq!(all[all.len() - 2]["delta"]["stop_reason"], "max_tokens");
    assert_eq!(all[all.len() - 1]["type"], "message_stop");
    assert_eq!(render(b""), "");
}

#[test]
fn an_error_event_becomes_an_anthropic_error() {
    let sse = concat!(
        "data: {\"id\":\"chatcmpl-3\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
        "data: {\"error\":{\"message\":\"upstream overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n",
    );
    let out = render(sse.as_bytes());
    let all = events(&out);
    assert_eq!(
        all.last().unwrap(),
        &json!({"type": "error", "error": {"type": "api_error", "message": "upstream overloaded"}})
    );
    assert!(!out.contains("message_stop"));
}

#[test]
fn a_late_signature_and_a_reopened_tool_stay_well_formed() {
    let sse = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"function\":{\"name\":\"b\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"late\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_signature\":\"sig\"}}]}\n\n",
        "data: not json\n\n",
        "data: [DONE]\n\n",
    );
    let out = render(sse.as_bytes());
    assert_well_formed(&out);
    assert!(!out.contains("late"));
    assert!(out.contains("\"signature\":\"sig\""));
    assert!(out.contains("\"id\":\"msg_llm_bridge\""));
}
