use serde_json::{Value, json};

use super::*;
use crate::stream::sse::payloads;

/// A streamed answer as Anthropic's streaming docs show it: thinking with
/// its signature, text, and a tool call whose input comes in pieces, with
/// a ping between.
const STREAM: &str = concat!(
    "event: message_start\n",
    "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_014p7gG3wDgGV9EUtLvnow3U\", \"type\": \"message\", \"role\": \"assistant\", \"model\": \"claude-opus-4-6\", \"stop_sequence\": null, \"usage\": {\"input_tokens\": 472, \"cache_read_input_tokens\": 1000, \"cache_creation_input_tokens\": 30, \"cache_creation\": {\"ephemeral_5m_input_tokens\": 20, \"ephemeral_1h_input_tokens\": 10}, \"output_tokens\": 2}, \"content\": [], \"stop_reason\": null}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"thinking\", \"thinking\": \"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"thinking_delta\", \"thinking\": \"Let me solve this step by step:\\n\\n1. First break down 27 * 453\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"signature_delta\", \"signature\": \"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, let's check the weather for San Francisco, CA:\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisc\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"o, CA\\\"}\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
    "event: message_stop\n",
    "data: {\"type\":\"message_stop\"}\n\n",
);

fn transcoded(pieces: &[&[u8]]) -> Vec<u8> {
    let mut stream = ToChatStream::new("asked", 42);
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(stream.push(piece));
    }
    out.extend(stream.finish());
    out
}

fn chunks(out: &[u8]) -> Vec<Value> {
    payloads(out)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn a_streamed_answer_reads_as_chat_chunks() {
    let out = transcoded(&[STREAM.as_bytes()]);
    assert!(out.ends_with(b"data: [DONE]\n\n"));
    let chunks = chunks(&out);
    for chunk in &chunks {
        assert_eq!(chunk["id"], "msg_014p7gG3wDgGV9EUtLvnow3U");
        assert_eq!(
            (&chunk["created"], &chunk["model"]),
            (&json!(42), &json!("claude-opus-4-6"))
        );
        assert_eq!(chunk["object"], "chat.completion.chunk");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| &c["delta"])
        .collect();
    let joined =
        |field: &str| -> String { deltas.iter().filter_map(|d| d[field].as_str()).collect() };
    assert_eq!(
        joined("content"),
        "Okay, let's check the weather for San Francisco, CA:"
    );
    assert!(joined("reasoning_content").starts_with("Let me solve this"));
    assert!(joined("reasoning_signature").starts_with("EqQBCgIYAh"));
    let calls: Vec<&Value> = deltas
        .iter()
        .filter_map(|d| d["tool_calls"].get(0))
        .collect();
    assert_eq!(
        calls[0],
        &json!({"index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}})
    );
    assert!(calls.iter().all(|c| c["index"] == 0));
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    let arguments: Value = serde_json::from_str(&arguments).unwrap();
    assert_eq!(arguments, json!({"location": "San Francisco, CA"}));
    let finishes: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| &c["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("tool_calls")]);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 472 + 1000 + 30, "completion_tokens": 89,
            "total_tokens": 1502 + 89,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 20,
                "cache_write_1h_tokens": 10}})
    );
}

#[test]
fn every_split_gives_the_same_output() {
    let whole = transcoded(&[STREAM.as_bytes()]);
    let bytes = STREAM.as_bytes();
    for at in 1..bytes.len() {
        let (head, tail) = bytes.split_at(at);
        assert_eq!(transcoded(&[head, tail]), whole, "split at {at}");
    }
    let pieces: Vec<&[u8]> = bytes.chunks(7).collect();
    assert_eq!(transcoded(&pieces), whole);
}

#[test]
fn each_event_leaves_as_soon_as_it_is_whole() {
    let mut stream = ToChatStream::new("asked", 1);
    let first_end = STREAM.find("\n\n").unwrap() + 2;
    let out = stream.push(&STREAM.as_bytes()[..first_end]);
    assert_eq!(
        chunks(&out).len(),
        1,
        "the role chunk leaves with message_start"
    );
    let text = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n";
    let out = stream.push(text.as_bytes());
    assert_eq!(chunks(&out)[0]["choices"][0]["delta"]["content"], "Hi");
}

#[test]
fn an_error_event_ends_the_stream_without_done() {
    let first_end = STREAM.find("\n\n").unwrap() + 2;
    let error = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let input = format!(
        "{}{error}event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
        &STREAM[..first_end]
    );
    let out = transcoded(&[input.as_bytes()]);
    let data = payloads(&out);
    assert_eq!(data.len(), 2);
    assert_eq!(
        serde_json::from_str::<Value>(&data[1]).unwrap(),
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null,
            "code": "overloaded_error"}})
    );
}

#[test]
fn a_cut_stream_gets_no_done() {
    let cut = &STREAM[..STREAM.find("event: message_stop").unwrap()];
    let out = transcoded(&[cut.as_bytes()]);
    assert!(!String::from_utf8_lossy(&out).contains("[DONE]"));
}
