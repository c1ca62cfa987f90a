//! OpenAI's legacy completions (`POST …/completions`) and embeddings
//! (`POST …/embeddings`) as the mock speaks them.
//!
//! Embeddings are made up from each input so a test can tell which input a
//! vector belongs to: `[length, sum of its bytes (or tokens) / 1000]`; each
//! input costs `length / 4 + 1` prompt tokens.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openai_chat::{SSE_DONE, sse_event};
use super::{MockOptions, Reply};

/// The vector the mock gives `input`.
pub fn mock_embedding(input: &Value) -> Vec<f64> {
    let (length, sum) = match input {
        Value::String(text) => (text.len(), text.bytes().map(u64::from).sum::<u64>()),
        Value::Array(tokens) => (
            tokens.len(),
            tokens.iter().filter_map(Value::as_u64).sum::<u64>(),
        ),
        _ => (0, 0),
    };
    vec![length as f64, sum as f64 / 1000.0]
}

/// The prompt tokens the mock charges for `input`.
pub fn mock_embedding_tokens(input: &Value) -> u64 {
    let length = match input {
        Value::String(text) => text.len(),
        Value::Array(tokens) => tokens.len(),
        _ => 0,
    };
    length as u64 / 4 + 1
}

/// An embeddings answer: one vector per input, in order.
pub fn embeddings_reply(_options: &MockOptions, request: &Value) -> Reply {
    let inputs: Vec<Value> = match &request["input"] {
        Value::Array(items) if items.iter().all(Value::is_number) => vec![request["input"].clone()],
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    Reply::Json(
        StatusCode::OK,
        embeddings_answer(&inputs, &request["model"]),
    )
}

/// The answer's body for `inputs`, as the mock writes it by default.
pub fn embeddings_answer(inputs: &[Value], model: &Value) -> Value {
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            json!({"object": "embedding", "index": index, "embedding": mock_embedding(input)})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(mock_embedding_tokens).sum();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

/// A legacy completion: "Once upon a time", whole or in three chunks.
pub fn completions_reply(_options: &MockOptions, request: &Value) -> Reply {
    let model = request["model"].as_str().unwrap_or("mock");
    let usage = json!({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7});
    if request["stream"] != Value::Bool(true) {
        return Reply::Json(
            StatusCode::OK,
            json!({
                "id": "cmpl-mock", "object": "text_completion", "created": 1_700_000_000,
                "model": model,
                "choices": [{"text": "Once upon a time", "index": 0, "logprobs": null,
                             "finish_reason": "length"}],
                "usage": usage,
            }),
        );
    }
    let chunk = |text: &str, finish: Value| {
        sse_event(&json!({
            "id": "cmpl-mock", "object": "text_completion", "created": 1_700_000_000,
            "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}],
        }))
    };
    let mut events = vec![
        chunk("Once", Value::Null),
        chunk(" upon a", Value::Null),
        chunk(" time", json!("length")),
    ];
    if request["stream_options"]["include_usage"] == Value::Bool(true) {
        events.push(sse_event(&json!({
            "id": "cmpl-mock", "object": "text_completion", "created": 1_700_000_000,
            "model": model, "choices": [], "usage": usage,
        })));
    }
    events.push(SSE_DONE.to_string());
    Reply::Sse(events)
}

/// A Responses `response` object with one message saying `text`.
pub fn response_object(model: &str, text: &str) -> Value {
    json!({
        "id": "resp_mock", "object": "response", "created_at": 1_700_000_000,
        "status": "completed", "model": model, "error": null, "incomplete_details": null,
        "instructions": null, "metadata": {}, "parallel_tool_calls": true,
        "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [],
        "output": [{
            "type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }],
        "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4},
                  "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": 11},
    })
}

/// A Responses answer as OpenAI sends it: the whole object, or its events
/// (`event: NAME` lines, rising `sequence_number`, no `[DONE]`).
pub fn responses_reply(_options: &MockOptions, request: &Value) -> Reply {
    let model = request["model"].as_str().unwrap_or("mock");
    let response = response_object(model, "Hello from Responses");
    if request["stream"] != Value::Bool(true) {
        return Reply::Json(StatusCode::OK, response);
    }
    let mut in_progress = response.clone();
    in_progress["status"] = json!("in_progress");
    in_progress["output"] = json!([]);
    in_progress["usage"] = Value::Null;
    let item = response["output"][0].clone();
    let events = [
        ("response.created", json!({"response": in_progress})),
        ("response.in_progress", json!({"response": in_progress})),
        (
            "response.output_item.added",
            json!({"output_index": 0,
            "item": {"type": "message", "id": "msg_mock", "status": "in_progress",
                     "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            json!({"output_index": 0, "item_id": "msg_mock",
            "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
        (
            "response.output_text.delta",
            json!({"output_index": 0, "item_id": "msg_mock",
            "content_index": 0, "delta": "Hello from Responses"}),
        ),
        (
            "response.output_text.done",
            json!({"output_index": 0, "item_id": "msg_mock",
            "content_index": 0, "text": "Hello from Responses"}),
        ),
        (
            "response.content_part.done",
            json!({"output_index": 0, "item_id": "msg_mock",
            "content_index": 0, "part": item["content"][0]}),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        ("response.completed", json!({"response": response})),
    ];
    let events = events
        .into_iter()
        .enumerate()
        .map(|(sequence, (name, mut data))| {
            data["type"] = json!(name);
            data["sequence_number"] = json!(sequence);
            format!("event: {name}\ndata: {data}\n\n")
        })
        .collect();
    Reply::Sse(events)
}
