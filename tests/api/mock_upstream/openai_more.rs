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
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            json!({"object": "embedding", "index": index, "embedding": mock_embedding(input)})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(mock_embedding_tokens).sum();
    Reply::Json(
        StatusCode::OK,
        json!({
            "object": "list",
            "data": data,
            "model": request["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }),
    )
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
