//! [`ToResponsesStream`] against chat streams as providers send them.

use serde_json::{Value, json};

use super::*;
use crate::stream::sse::{event_name, payloads};

fn chunk(delta: Value, finish_reason: Value) -> String {
    let chunk = json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
        "model": "deepseek-reasoner", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]});
    format!("data: {chunk}\n\n")
}

fn sample() -> String {
    let mut sse = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    sse += &chunk(json!({"reasoning_content": "The user "}), Value::Null);
    sse += &chunk(json!({"reasoning_content": "wants weather."}), Value::Null);
    sse += &chunk(json!({"reasoning_signature": "EqQB"}), Value::Null);
    sse += &chunk(json!({"content": "Let me "}), Value::Null);
    sse += &chunk(json!({"content": "check."}), Value::Null);
    let call = |index: u64, id: Option<&str>, name: Option<&str>, arguments: &str| {
        let mut call = json!({"index": index, "function": {"arguments": arguments}});
        if let (Some(id), Some(name)) = (id, name) {
            call["id"] = json!(id);
            call["type"] = json!("function");
            call["function"]["name"] = json!(name);
        }
        json!({"tool_calls": [call]})
    };
    sse += &chunk(
        call(0, Some("call_a"), Some("get_weather"), ""),
        Value::Null,
    );
    sse += &chunk(call(0, None, None, "{\"location\":"), Value::Null);
    sse += &chunk(call(0, None, None, "\"Paris\"}"), Value::Null);
    sse += &chunk(call(1, Some("call_b"), Some("get_time"), "{}"), Value::Null);
    sse += &chunk(json!({}), json!("tool_calls"));
    sse += "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\
            \"model\":\"deepseek-reasoner\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\
            \"completion_tokens\":40,\"total_tokens\":59,\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n";
    sse += "data: [DONE]\n\n";
    sse
}

fn run(input: &str, split: &[usize]) -> String {
    let mut transcoder = ToResponsesStream::new(Echo::default(), "fallback");
    let mut out = Vec::new();
    let mut start = 0;
    for &end in split.iter().chain([input.len()].iter()) {
        out.extend(transcoder.push(&input.as_bytes()[start..end]));
        start = end;
    }
    out.extend(transcoder.finish());
    String::from_utf8(out).unwrap()
}

fn names(sse: &str) -> Vec<String> {
    sse.split_terminator("\n\n")
        .filter_map(|e| event_name(e.as_bytes()).map(str::to_string))
        .collect()
}

#[test]
fn events_in_openai_order_numbered_from_zero() {
    let out = run(&sample(), &[]);
    assert_eq!(
        names(&out),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let events: Vec<Value> = payloads(out.as_bytes())
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    for (n, (event, name)) in events.iter().zip(names(&out)).enumerate() {
        assert_eq!(event["sequence_number"], n as u64);
        assert_eq!(event["type"], name.as_str());
    }
    assert_eq!(events[0]["response"]["status"], "in_progress");
    assert_eq!(events[0]["response"]["model"], "deepseek-reasoner");
    assert_eq!(events[16]["item"]["call_id"], "call_a");
    assert_eq!(events[16]["item"]["name"], "get_weather");
    assert_eq!(events[19]["arguments"], "{\"location\":\"Paris\"}");
    let done = &events[25]["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["input_tokens"], 19);
    assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 3);
    assert_eq!(done["usage"]["total_tokens"], 59);
    let output = done["output"].as_array().unwrap();
    let kinds: Vec<&str> = output.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["reasoning", "message", "function_call", "function_call"]
    );
    assert_eq!(output[0]["summary"][0]["text"], "The user wants weather.");
    assert_eq!(output[0]["encrypted_content"], "EqQB");
    assert_eq!(output[1]["content"][0]["text"], "Let me check.");
    assert_eq!(output[3]["arguments"], "{}");
    // Every item's id is the one its added event announced.
    for (index, item) in output.iter().enumerate() {
        let added = events
            .iter()
            .find(|e| e["type"] == "response.output_item.added" && e["output_index"] == index)
            .unwrap();
        assert_eq!(added["item"]["id"], item["id"]);
    }
    assert!(!out.contains("[DONE]"));
}

#[test]
fn split_anywhere_gives_the_same_events() {
    let input = sample();
    let whole = run(&input, &[]);
    for at in 1..input.len() {
        assert_eq!(run(&input, &[at]), whole, "split at {at}");
    }
    let every_byte: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run(&input, &every_byte), whole);
}

#[test]
fn the_first_token_leaves_at_once() {
    let mut transcoder = ToResponsesStream::new(Echo::default(), "m");
    let out = transcoder.push(chunk(json!({"content": "Hel"}), Value::Null).as_bytes());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        names(&out),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
        ]
    );
}

#[test]
fn a_length_stop_is_incomplete() {
    let mut input = chunk(json!({"content": "In a peace"}), Value::Null);
    input += &chunk(json!({}), json!("length"));
    input += "data: [DONE]\n\n";
    let out = run(&input, &[]);
    assert_eq!(names(&out).last().unwrap(), "response.incomplete");
    let last: Value = serde_json::from_str(payloads(out.as_bytes()).last().unwrap()).unwrap();
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    assert_eq!(last["response"]["usage"], Value::Null);
}

#[test]
fn an_error_event_ends_the_stream() {
    let mut input = chunk(json!({"content": "Hi"}), Value::Null);
    input += "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n";
    input += &chunk(json!({"content": "late"}), Value::Null);
    let out = run(&input, &[]);
    let names = names(&out);
    assert_eq!(names.last().unwrap(), "error");
    assert!(!names.iter().any(|n| n == "response.completed"));
    let last: Value = serde_json::from_str(payloads(out.as_bytes()).last().unwrap()).unwrap();
    assert_eq!(
        last,
        json!({"type": "error", "code": "upstream_error", "message": "overloaded", "param": null,
               "sequence_number": 5})
    );
}

/// Writes rendered samples for `tests/sdk/responses_shapes.py` (run by
/// hand: `cargo test --lib api::responses -- --ignored`, then the script
/// on the folder printed).
#[test]
#[ignore]
fn dump_samples_for_the_sdk_check() {
    use crate::api::responses::completion_to_response;
    use crate::wire::responses::response_to_events;
    let dir = std::env::temp_dir().join("llm-bridge-responses-samples");
    std::fs::create_dir_all(&dir).unwrap();
    let echo = Echo::from_request(
        &json!({"model": "m", "input": "x", "instructions": "Be kind.",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object",
                   "properties": {"location": {"type": "string"}}}, "strict": false}],
        "temperature": 0.2, "text": {"format": {"type": "text"}, "verbosity": "low"},
        "reasoning": {"effort": "low"}}),
    );
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let mut transcoder = ToResponsesStream::new(echo.clone(), "m");
    let mut out = transcoder.push(sample().as_bytes());
    out.extend(transcoder.finish());
    write("stream_tools.sse", &String::from_utf8(out).unwrap());
    let mut length = chunk(json!({"content": "In a peace"}), Value::Null);
    length += &chunk(json!({}), json!("length"));
    write("stream_length.sse", &run(&length, &[]));
    let mut error = chunk(json!({"content": "Hi"}), Value::Null);
    error += "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":\"upstream_error\"}}\n\n";
    write("stream_error.sse", &run(&error, &[]));
    let completion = crate::wire::openai_chat::chunks_to_completion(sample().as_bytes());
    let response = completion_to_response(&completion, &echo, "m");
    write("whole_tools.json", &response.to_string());
    write("whole_tools.sse", &response_to_events(&response));
    let text = json!({"id": "chatcmpl-1", "created": 1, "model": "m", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Hi", "refusal": null}, "finish_reason": "length"}]});
    write(
        "whole_length.json",
        &completion_to_response(&text, &Echo::default(), "m").to_string(),
    );
    println!("{}", dir.display());
}
