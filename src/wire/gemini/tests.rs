use serde_json::{Value, json};

use super::*;
use crate::stream::sse::payloads;
use crate::stream::transcode::Transcoder;
use crate::tokens::Usage;
use crate::wire::probe::Probe;

/// A thinking answer with text, in the shape `generateContent` returns.
const TEXT_ANSWER: &str = r#"{
  "candidates": [{
    "content": {"parts": [
      {"text": "**Weighing the question**\nThe user wants a haiku.", "thought": true},
      {"text": "Autumn moonlight—\na worm digs silently\ninto the chestnut.", "thoughtSignature": "CiQBVKhc7g=="}
    ], "role": "model"},
    "finishReason": "STOP",
    "index": 0
  }],
  "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 18, "totalTokenCount": 1056,
    "cachedContentTokenCount": 4, "thoughtsTokenCount": 1029,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]},
  "modelVersion": "gemini-2.5-flash",
  "responseId": "Xi1aaO3yNbSnz7IPj7K7wQo"
}"#;

/// Two function calls without ids (an older model), the first signed.
const CALL_ANSWER: &str = r#"{
  "candidates": [{
    "content": {"parts": [
      {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}, "thoughtSignature": "EpcCCpQC"},
      {"functionCall": {"name": "get_weather", "args": {"location": "London"}}}
    ], "role": "model"},
    "finishReason": "STOP",
    "index": 0
  }],
  "usageMetadata": {"promptTokenCount": 70, "candidatesTokenCount": 30, "totalTokenCount": 100},
  "modelVersion": "gemini-2.0-flash"
}"#;

fn answer(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn text_and_thoughts_become_content_and_reasoning() {
    let completion = to_chat_completion(&answer(TEXT_ANSWER), "gemini-2.5-flash", 7);
    assert_eq!(completion["id"], "Xi1aaO3yNbSnz7IPj7K7wQo");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "gemini-2.5-flash");
    let choice = &completion["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    let message = &choice["message"];
    assert_eq!(
        message["content"],
        "Autumn moonlight—\na worm digs silently\ninto the chestnut."
    );
    assert_eq!(
        message["reasoning_content"],
        "**Weighing the question**\nThe user wants a haiku."
    );
    assert_eq!(message["reasoning_signature"], "CiQBVKhc7g==");
    assert_eq!(
        completion["usage"],
        json!({"prompt_tokens": 9, "completion_tokens": 1047, "total_tokens": 1056,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 1029}})
    );
}

#[test]
fn calls_without_ids_get_the_same_made_up_ids_every_time() {
    let completion = to_chat_completion(&answer(CALL_ANSWER), "g", 7);
    assert_eq!(completion, to_chat_completion(&answer(CALL_ANSWER), "g", 7));
    assert_eq!(completion["id"], "chatcmpl-gemini-7");
    let choice = &completion["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([
            {"id": "gemini_call_0_get_weather", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"},
             "extra_content": {"google": {"thought_signature": "EpcCCpQC"}}},
            {"id": "gemini_call_1_get_weather", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\":\"London\"}"}}
        ])
    );
    let with_id = json!({"candidates": [{"content": {"parts": [
        {"functionCall": {"id": "abc123", "name": "f", "args": {}}}]}, "finishReason": "STOP"}]});
    let call = &to_chat_completion(&with_id, "g", 1)["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "abc123");
}

#[test]
fn finish_reasons_map_to_the_exchange() {
    let ended = |reason: &str| {
        let body = json!({"candidates": [{"content": {"parts": [{"text": "Once upon"}],
            "role": "model"}, "finishReason": reason, "index": 0}]});
        to_chat_completion(&body, "g", 1)["choices"][0]["finish_reason"].clone()
    };
    assert_eq!(ended("MAX_TOKENS"), "length");
    assert_eq!(ended("SAFETY"), "content_filter");
    assert_eq!(ended("PROHIBITED_CONTENT"), "content_filter");
    assert_eq!(ended("RECITATION"), "content_filter");
    assert_eq!(ended("OTHER"), "stop");
    // A safety stop has no content at all, only ratings.
    let blocked = json!({"candidates": [{"finishReason": "SAFETY", "index": 0,
        "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]}]});
    let choice = &to_chat_completion(&blocked, "g", 1)["choices"][0];
    assert_eq!(choice["finish_reason"], "content_filter");
    assert_eq!(choice["message"]["content"], "");
}

#[test]
fn a_blocked_prompt_ends_in_content_filter() {
    let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "responseId": "r"});
    let completion = to_chat_completion(&blocked, "g", 1);
    assert_eq!(
        completion["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": ""},
            "finish_reason": "content_filter"}])
    );
    assert_eq!(completion["usage"]["prompt_tokens"], 8);
    let body = format!("data: {blocked}\n\n");
    let out = crate::stream::transcode::whole(Box::new(ToChatStream::new("g", 1)), body.as_bytes());
    let events = payloads(&out);
    assert_eq!(events.len(), 4, "role, finish, usage, [DONE]");
    let finish: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "content_filter");
}

#[test]
fn usage_counts_thoughts_and_tool_prompts() {
    let metadata = json!({"promptTokenCount": 100, "toolUsePromptTokenCount": 20,
        "cachedContentTokenCount": 64, "candidatesTokenCount": 30, "thoughtsTokenCount": 50,
        "totalTokenCount": 200});
    assert_eq!(
        usage_from_value(&metadata),
        Some(Usage {
            prompt_tokens: 120,
            completion_tokens: 80,
            cached_tokens: 64,
            reasoning_tokens: 50,
            ..Usage::default()
        })
    );
    assert_eq!(usage_from_value(&json!(null)), None);
    assert_eq!(usage_from_value(&json!({})), Some(Usage::default()));
}

/// A thinking stream: cumulative usage in every event, the last event only
/// a signature and the finish reason, then a call.
fn stream_events() -> Vec<Value> {
    vec![
        json!({"candidates": [{"content": {"parts": [{"text": "Thinking about it", "thought": true}],
            "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 10, "thoughtsTokenCount": 5},
            "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"parts": [{"text": "Hello"}], "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1, "totalTokenCount": 16,
                "thoughtsTokenCount": 5},
            "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"parts": [{"text": ", world"},
                {"functionCall": {"name": "lookup", "args": {"q": "x"}}, "thoughtSignature": "sig-call"}],
            "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 9, "totalTokenCount": 24,
                "thoughtsTokenCount": 5},
            "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "sig-end"}],
            "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 12, "totalTokenCount": 27,
                "thoughtsTokenCount": 5},
            "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"}),
    ]
}

fn stream_body() -> String {
    stream_events()
        .iter()
        .map(|e| format!("data: {e}\r\n\r\n"))
        .collect()
}

#[test]
fn stream_translates_event_by_event_with_the_last_usage() {
    let body = stream_body();
    let mut transcoder = ToChatStream::new("gemini-2.5-pro", 5);
    let first_event = body.find("\r\n\r\n").unwrap() + 4;
    let first = transcoder.push(&body.as_bytes()[..first_event]);
    let first = payloads(&first);
    assert_eq!(first.len(), 2, "role and reasoning leave at once");
    let mut out = crate::stream::sse::payloads(&transcoder.push(&body.as_bytes()[first_event..]));
    out.extend(payloads(&transcoder.finish()));
    let chunks: Vec<Value> = first
        .iter()
        .chain(&out)
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(out.last().unwrap(), "[DONE]");
    assert!(
        chunks
            .iter()
            .all(|c| c["id"] == "resp-1" && c["created"] == 5)
    );
    let deltas: Vec<Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0).map(|choice| choice["delta"].clone()))
        .collect();
    assert_eq!(
        deltas,
        [
            json!({"role": "assistant", "content": ""}),
            json!({"reasoning_content": "Thinking about it"}),
            json!({"content": "Hello"}),
            json!({"content": ", world"}),
            json!({"tool_calls": [{"index": 0, "id": "gemini_call_0_lookup", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"},
                "extra_content": {"google": {"thought_signature": "sig-call"}}}]}),
            json!({"reasoning_signature": "sig-end"}),
            json!({}),
        ]
    );
    let finish = &chunks[chunks.len() - 2]["choices"][0]["finish_reason"];
    assert_eq!(finish, "tool_calls");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        (
            usage["usage"]["prompt_tokens"].clone(),
            usage["usage"]["completion_tokens"].clone()
        ),
        (json!(10), json!(17)),
        "the last usageMetadata, not a sum"
    );
}

#[test]
fn stream_split_anywhere_gives_the_same_output() {
    let body = stream_body();
    let whole =
        crate::stream::transcode::whole(Box::new(ToChatStream::new("g", 1)), body.as_bytes());
    for split in 1..body.len() {
        let mut transcoder = ToChatStream::new("g", 1);
        let mut out = transcoder.push(&body.as_bytes()[..split]);
        out.extend(transcoder.push(&body.as_bytes()[split..]));
        out.extend(transcoder.finish());
        assert_eq!(out, whole.to_vec(), "split at {split}");
    }
}

#[test]
fn stream_and_whole_answer_agree_on_tool_ids() {
    let completion = to_chat_completion(&answer(CALL_ANSWER), "g", 1);
    let body = format!("data: {}\n\n", answer(CALL_ANSWER));
    let streamed =
        crate::stream::transcode::whole(Box::new(ToChatStream::new("g", 1)), body.as_bytes());
    let assembled = crate::wire::openai_chat::chunks_to_completion(&streamed);
    assert_eq!(
        assembled["choices"][0]["message"]["tool_calls"][1]["id"],
        completion["choices"][0]["message"]["tool_calls"][1]["id"]
    );
    assert_eq!(assembled["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn stream_error_event_ends_the_stream() {
    let body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}]}\n\n\
                data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n";
    let out = crate::stream::transcode::whole(Box::new(ToChatStream::new("g", 1)), body.as_bytes());
    let events = payloads(&out);
    assert_eq!(events.len(), 3);
    let error: Value = serde_json::from_str(&events[2]).unwrap();
    assert_eq!(
        error,
        json!({"error": {"message": "The model is overloaded.", "type": "unavailable", "code": 503}})
    );
}

#[test]
fn check_json_and_streams() {
    let usage = check(BodyKind::Json, TEXT_ANSWER.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(usage["thoughtsTokenCount"], 1029);
    let blocked = br#"{"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}"#;
    assert_eq!(check(BodyKind::Json, blocked), Err(Uncacheable::NoChoices));
    let error = br#"{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}"#;
    assert_eq!(check(BodyKind::Json, error), Err(Uncacheable::ErrorObject));
    assert_eq!(check(BodyKind::Json, b"{"), Err(Uncacheable::NotJson));

    let body = stream_body();
    let usage = check(BodyKind::Sse, body.as_bytes()).unwrap().unwrap();
    assert_eq!(usage["candidatesTokenCount"], 12, "the last usageMetadata");
    let events = stream_events();
    let cut: String = events[..3]
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect();
    assert_eq!(
        check(BodyKind::Sse, cut.as_bytes()),
        Err(Uncacheable::Incomplete)
    );
    let failed = format!(
        "{cut}data: {}\n\n",
        std::str::from_utf8(error).unwrap().replace('\n', "")
    );
    assert_eq!(
        check(BodyKind::Sse, failed.as_bytes()),
        Err(Uncacheable::ErrorObject)
    );
}

#[test]
fn probe_assigns_cumulative_usage_and_gathers_text() {
    let body = stream_body();
    for size in [1, 7, 64, body.len()] {
        let mut probe: Box<dyn Probe> = Box::new(UsageProbe::new(BodyKind::Sse, false));
        for piece in body.as_bytes().chunks(size) {
            probe.observe(piece);
        }
        assert_eq!(probe.events_so_far(), Some(4));
        let found = probe.finish();
        let usage = found.usage.unwrap();
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens),
            (10, 17),
            "{size}"
        );
        assert_eq!(found.text, None);
    }
    let mut probe: Box<dyn Probe> = Box::new(UsageProbe::new(BodyKind::Json, false));
    for piece in TEXT_ANSWER.as_bytes().chunks(5) {
        probe.observe(piece);
    }
    assert_eq!(probe.finish().usage.unwrap().reasoning_tokens, 1029);
    let no_usage = r#"{"candidates":[{"content":{"parts":[{"text":"Hi "},
        {"functionCall":{"name":"f","args":{"a":1}}}]}}]}"#;
    let mut probe: Box<dyn Probe> = Box::new(UsageProbe::new(BodyKind::Json, false));
    probe.observe(no_usage.as_bytes());
    assert_eq!(probe.finish().text.as_deref(), Some("Hi f{\"a\":1}"));
}
