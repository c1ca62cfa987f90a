//! The official SDKs of the other APIs through the gateway: `anthropic`
//! against `/v1/messages`, `openai` against `/v1/responses` and
//! `/v1/embeddings`, each answered by an upstream of another API, so every
//! answer the SDK parses went through translation.

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// Runs a script of `tests/sdk/` with `args`; returns its JSON.
async fn run(script: &str, args: &[&str]) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let output = tokio::process::Command::new(crate::sdk::python())
        .arg(path)
        .args(args)
        .env("NO_PROXY", "*")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn tool_call_completion(model: &str) -> Value {
    let mut answer = completion(model, "");
    answer["choices"][0]["message"] = json!({
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "call_9", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
    });
    answer["choices"][0]["finish_reason"] = json!("tool_calls");
    answer
}

#[tokio::test]
async fn the_anthropic_sdk_talks_to_a_chat_upstream_through_messages() {
    let mock = MockUpstream::start().await;
    let model = "deepseek-chat";
    let mut cut = completion(model, "One");
    cut["choices"][0]["finish_reason"] = json!("length");
    for reply in [
        Reply::Json(StatusCode::OK, completion(model, "Hello from the mock")),
        Reply::Sse(sse_answer(model, &["tok0 ", "tok1 "])),
        Reply::Json(StatusCode::OK, tool_call_completion(model)),
        Reply::Json(StatusCode::OK, completion(model, "It is 18 C.")),
        Reply::Json(StatusCode::OK, cut),
        Reply::Json(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "bad request", "type": "invalid_request_error",
                             "param": null, "code": null}}),
        ),
    ] {
        mock.push_reply(reply);
    }
    let gateway = Setup::on(&mock).start().await;
    let out = run("anthropic_gateway_check.py", &[&gateway.url(""), model]).await;
    assert_eq!(out["text"], "Hello from the mock");
    assert_eq!(out["text_stop"], "end_turn");
    assert_eq!(out["usage"], json!([5, 3]));
    assert_eq!(out["id_prefix"], "msg_");
    assert_eq!(out["repeat_cache"], "HIT");
    assert_eq!(out["repeat_text"], "Hello from the mock");
    assert_eq!(out["stream_text"], "tok0 tok1 ");
    assert_eq!(out["stream_final_text"], "tok0 tok1 ");
    assert_eq!(out["stream_stop"], "end_turn");
    assert_eq!(out["stream_output_tokens"], 2);
    assert_eq!(out["tool_stop"], "tool_use");
    assert_eq!(
        out["tool_call"],
        json!(["call_9", "get_weather", {"city": "Paris"}])
    );
    assert_eq!(out["after_tool"], "It is 18 C.");
    assert_eq!(out["cut_stop"], "max_tokens");
    assert!(out["count"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(out["error"], json!([400, "invalid_request_error", "error"]));

    let seen = mock.recorded();
    assert_eq!(
        seen.len(),
        6,
        "the repeat and count_tokens never went upstream"
    );
    let first = seen[0].json();
    assert_eq!(first["model"], model);
    assert_eq!(first["max_tokens"], 100);
    assert_eq!(
        first["messages"],
        json!([{"role": "user", "content": "Say hello"}])
    );
    assert_eq!(
        seen[0].header("authorization").unwrap(),
        format!("Bearer {DEEPSEEK_KEY}")
    );
    let round_trip = seen[3].json();
    let messages = round_trip["messages"].as_array().unwrap();
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_9");
    assert_eq!(
        messages[2],
        json!({"role": "tool", "tool_call_id": "call_9", "content": "18 C"})
    );
}

#[tokio::test]
async fn the_openai_sdk_talks_responses_and_embeddings_to_a_chat_upstream() {
    let mock = MockUpstream::start().await;
    let model = "deepseek-chat";
    let mut cut = completion(model, "One");
    cut["choices"][0]["finish_reason"] = json!("length");
    for reply in [
        Reply::Json(StatusCode::OK, completion(model, "Hello from the mock")),
        Reply::Sse(sse_answer(model, &["tok0 ", "tok1 "])),
        Reply::Json(StatusCode::OK, tool_call_completion(model)),
        Reply::Json(StatusCode::OK, completion(model, "It is 18 C.")),
        Reply::Json(StatusCode::OK, cut),
    ] {
        mock.push_reply(reply);
    }
    let gateway = Setup::on(&mock).start().await;
    let out = run(
        "responses_gateway_check.py",
        &[&gateway.url("/v1"), model, "text-embedding-3-small"],
    )
    .await;
    assert_eq!(out["text"], "Hello from the mock");
    assert_eq!(out["status"], "completed");
    assert_eq!(out["usage"], json!([5, 3, 8]));
    assert_eq!(out["id_prefix"], "resp_");
    let events: Vec<&str> = out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(events[..2], ["response.created", "response.in_progress"]);
    assert_eq!(events.last(), Some(&"response.completed"));
    let added = events
        .iter()
        .position(|e| *e == "response.output_item.added")
        .unwrap();
    let first_delta = events
        .iter()
        .position(|e| *e == "response.output_text.delta")
        .unwrap();
    assert!(added < first_delta, "{events:?}");
    assert_eq!(out["stream_text"], "tok0 tok1 ");
    assert_eq!(out["stream_usage"], 7);
    assert_eq!(
        out["call"],
        json!(["call_9", "get_weather", {"city": "Paris"}])
    );
    assert_eq!(out["after_call"], "It is 18 C.");
    assert_eq!(out["cut"], json!(["incomplete", "max_output_tokens"]));
    assert_eq!(
        out["stateful"],
        json!(["BadRequestError", "invalid_parameter"])
    );

    let seen = mock.recorded();
    let first = seen[0].json();
    assert_eq!(
        first["messages"],
        json!([{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "Say hello"}])
    );
    let round_trip = seen[3].json();
    assert_eq!(round_trip["messages"][1]["tool_calls"][0]["id"], "call_9");
    assert_eq!(round_trip["messages"][2]["role"], "tool");
    assert_eq!(seen[4].json()["max_completion_tokens"], 16);

    // Vectors that went through base64 are f32s; compared as f32s (the
    // decimal text of one may parse a hair off).
    let f32s = |vector: &Value| -> Vec<f32> {
        let numbers = vector.as_array().unwrap().iter();
        numbers.map(|x| x.as_f64().unwrap() as f32).collect()
    };
    let mock_f32s = |input: &str| -> Vec<f32> {
        mock_embedding(&json!(input))
            .into_iter()
            .map(|x| x as f32)
            .collect()
    };
    assert_eq!(
        out["one"],
        json!([0, mock_embedding(&json!("hello world")), 3])
    );
    for (position, input) in ["alpha", "hello world", "bravo"].iter().enumerate() {
        assert_eq!(out["batch"][position][0], position);
        assert_eq!(f32s(&out["batch"][position][1]), mock_f32s(input));
    }
    assert_eq!(f32s(&out["base64"]), mock_f32s("bravo"));
    let embeddings: Vec<Value> = seen[5..]
        .iter()
        .map(|r| r.json()["input"].clone())
        .collect();
    assert_eq!(
        embeddings,
        [json!(["hello world"]), json!(["alpha", "bravo"])],
        "only new inputs went upstream"
    );
}

#[tokio::test]
async fn the_anthropic_sdk_reaches_anthropic_untranslated() {
    let mock = MockUpstream::start().await;
    let model = "claude-sonnet-4-5";
    let options = MockOptions::default();
    let usage = json!({"input_tokens": 8, "output_tokens": 2});
    let cut = anthropic_message(
        model,
        json!([{"type": "text", "text": "One"}]),
        "max_tokens",
        usage,
    );
    for reply in [
        Reply::Json(StatusCode::OK, anthropic_text(model, "Hello from the mock")),
        anthropic::default_reply(&options, &json!({"model": model, "stream": true})),
        Reply::Json(
            StatusCode::OK,
            anthropic_tool_use(model, "toolu_7", "get_weather", json!({"city": "Paris"})),
        ),
        Reply::Json(StatusCode::OK, anthropic_text(model, "It is 18 C.")),
        Reply::Json(StatusCode::OK, cut),
        Reply::Json(StatusCode::OK, json!({"input_tokens": 42})),
        anthropic_error(400, "invalid_request_error", "bad request"),
    ] {
        mock.push_reply(reply);
    }
    let gateway = Setup::on(&mock).start().await;
    let out = run("anthropic_gateway_check.py", &[&gateway.url(""), model]).await;
    assert_eq!(out["text"], "Hello from the mock");
    assert_eq!(out["usage"], json!([5, 3]));
    assert_eq!(out["repeat_cache"], "HIT");
    assert_eq!(out["stream_text"], "tok0 tok1 tok2 ");
    assert_eq!(out["stream_final_text"], "tok0 tok1 tok2 ");
    assert_eq!(out["stream_output_tokens"], 3);
    assert_eq!(out["tool_stop"], "tool_use");
    assert_eq!(
        out["tool_call"],
        json!(["toolu_7", "get_weather", {"city": "Paris"}])
    );
    assert_eq!(out["after_tool"], "It is 18 C.");
    assert_eq!(out["cut_stop"], "max_tokens");
    assert_eq!(out["count"], 42, "counted by Anthropic");
    assert_eq!(out["error"], json!([400, "invalid_request_error", "error"]));

    let seen = mock.recorded();
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[5].path, "/anthropic/v1/messages/count_tokens");
    for request in &seen {
        assert_eq!(request.header("x-api-key").as_deref(), Some(ANTHROPIC_KEY));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.header("anthropic-version").as_deref(),
            Some("2023-06-01")
        );
    }
    let first = seen[0].json();
    assert_eq!(
        first,
        json!({"max_tokens": 100, "messages": [{"role": "user", "content": "Say hello"}],
               "model": model}),
        "as the SDK wrote it"
    );
    assert_eq!(seen[1].json()["stream"], true);
    assert!(seen[1].json().get("stream_options").is_none());
}
