//! A Responses answer's two forms converted into each other, so a
//! streamed and a non-streamed request share one cache entry:
//! [`events_to_response`] takes the final event's `response` (the whole
//! answer, as OpenAI repeats it there), [`response_to_events`] writes the
//! events a stream of that response would have had.

use serde_json::{Value, json};

use super::FINAL_EVENTS;
use super::events::{EventWriter, item_events};
use crate::stream::sse::payloads;

/// The `response` of a stream's final event (`response.completed`,
/// `.incomplete` or `.failed`); failing that, the latest `response` any
/// event carried; `{}` when none did.
pub fn events_to_response(sse: &[u8]) -> Value {
    let mut last = None;
    for data in payloads(sse) {
        let Ok(mut event) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        let Some(response) = event.get_mut("response").filter(|r| r.is_object()) else {
            continue;
        };
        let response = response.take();
        let is_final = event
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| FINAL_EVENTS.contains(&kind));
        if is_final {
            return response;
        }
        last = Some(response);
    }
    last.unwrap_or_else(|| json!({}))
}

/// The event stream of a whole `response`: `response.created` and
/// `response.in_progress` (no output yet), each output item's events, and
/// the final event its status calls for, carrying the response whole.
pub fn response_to_events(response: &Value) -> String {
    let mut events = EventWriter::new();
    let mut opening = response.clone();
    if let Some(object) = opening.as_object_mut() {
        object.insert("status".into(), json!("in_progress"));
        object.insert("output".into(), json!([]));
        object.insert("usage".into(), Value::Null);
        object.insert("incomplete_details".into(), Value::Null);
    }
    events.emit("response.created", json!({"response": opening}));
    events.emit("response.in_progress", json!({"response": opening}));
    let output = response.get("output").and_then(Value::as_array);
    for (index, item) in output.into_iter().flatten().enumerate() {
        item_events(&mut events, index, item);
    }
    let last = match response.get("status").and_then(Value::as_str) {
        Some("incomplete") => "response.incomplete",
        Some("failed") => "response.failed",
        _ => "response.completed",
    };
    events.emit(last, json!({"response": response}));
    events.take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sse::event_name;

    fn sample() -> Value {
        json!({
            "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
            "object": "response", "created_at": 1741476777, "status": "completed",
            "model": "gpt-4o-2024-08-06", "error": null, "incomplete_details": null,
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Thinking."}]},
                {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "In a peaceful grove...", "annotations": []}]},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                 "arguments": "{\"location\":\"Paris\"}", "status": "completed"}
            ],
            "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 123}
        })
    }

    #[test]
    fn round_trip() {
        let response = sample();
        let sse = response_to_events(&response);
        assert_eq!(events_to_response(sse.as_bytes()), response);
        let mut incomplete = sample();
        incomplete["status"] = json!("incomplete");
        let sse = response_to_events(&incomplete);
        assert!(sse.contains("event: response.incomplete\n"));
        assert_eq!(events_to_response(sse.as_bytes()), incomplete);
        assert_eq!(events_to_response(b"data: [DONE]\n\n"), json!({}));
    }

    #[test]
    fn events_come_in_openai_order_numbered_from_zero() {
        let sse = response_to_events(&sample());
        let events: Vec<&str> = sse.split_terminator("\n\n").collect();
        let names: Vec<&str> = events
            .iter()
            .filter_map(|e| event_name(e.as_bytes()))
            .collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (n, data) in payloads(sse.as_bytes()).iter().enumerate() {
            let event: Value = serde_json::from_str(data).unwrap();
            assert_eq!(event["sequence_number"], n as u64);
            assert_eq!(Some(event["type"].as_str().unwrap()), names.get(n).copied());
        }
        let created: Value = serde_json::from_str(&payloads(sse.as_bytes())[0]).unwrap();
        assert_eq!(created["response"]["status"], "in_progress");
        assert_eq!(created["response"]["output"], json!([]));
    }
}
