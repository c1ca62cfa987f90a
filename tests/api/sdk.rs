//! A client nobody here wrote: the official `openai` Python package talks to
//! the gateway, streamed and not.
//!
//! The interpreter is `LLM_BRIDGE_TEST_PYTHON`, or `.venv/bin/python` in the
//! repository, which `.ci/run` creates with the packages in
//! `tests/sdk/requirements.txt`.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

/// Runs a script of `tests/sdk/` against the gateway; returns its JSON.
async fn run_script(script: &str, gateway: &Gateway) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let output = tokio::process::Command::new(python())
        .arg(path)
        .arg(gateway.url("/v1"))
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

pub(crate) fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("LLM_BRIDGE_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the openai SDK test needs Python with the openai package: run `.ci/run`, or \
         `python3 -m venv .venv && .venv/bin/pip install -r tests/sdk/requirements.txt`"
    );
    venv
}

#[tokio::test]
async fn the_openai_python_sdk_streams_and_completes_through_the_gateway() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .without("QWEN_API_KEY")
        .without("DASHSCOPE_API_KEY")
        .start()
        .await;
    let parsed = run_script("openai_sdk_check.py", &gateway).await;
    assert_eq!(parsed["content"], "Hello from the mock");
    assert_eq!(parsed["model"], "deepseek-chat");
    assert_eq!(parsed["usage_total"], 8);
    assert_eq!(parsed["raw_provider"], "openai");
    assert_eq!(parsed["stream_content"], "tok0 tok1 tok2 ");
    assert_eq!(parsed["stream_finish"], "stop");
    assert!(
        parsed["models"]
            .as_array()
            .unwrap()
            .contains(&Value::from("deepseek/deepseek-chat"))
    );

    let seen = mock.recorded();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].json()["model"], "deepseek-chat");
    assert_eq!(seen[0].json()["temperature"], 0.2);
    assert_eq!(
        seen[0].header("authorization").unwrap(),
        format!("Bearer {DEEPSEEK_KEY}")
    );
    assert_eq!(seen[2].json()["stream"], true);
    // qwen has no key here, so the SDK's own key was passed through.
    assert_eq!(
        seen[2].header("authorization").unwrap(),
        "Bearer sk-client-key"
    );
}

#[tokio::test]
async fn the_sdk_parses_hits_converted_between_json_and_stream_with_tool_calls() {
    let mock = MockUpstream::start().await;
    let calls = serde_json::json!([
        {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_t", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}}
    ]);
    let mut stored_json = completion("gpt-4.1", "Let me check.");
    stored_json["choices"][0]["message"]["tool_calls"] = calls;
    stored_json["choices"][0]["finish_reason"] = "tool_calls".into();
    mock.push_reply(Reply::Json(reqwest::StatusCode::OK, stored_json));
    let chunk = |delta: Value, finish: Value| {
        sse_event(&serde_json::json!({
            "id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }))
    };
    let streamed = vec![
        chunk(
            serde_json::json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_o", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}),
            Value::Null,
        ),
        chunk(serde_json::json!({}), "tool_calls".into()),
        sse_event(
            &serde_json::json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}}),
        ),
        SSE_DONE.to_string(),
    ];
    mock.push_reply(Reply::Sse(streamed));
    let gateway = Setup::on(&mock).start().await;

    let parsed = run_script("cache_conversions.py", &gateway).await;
    assert_eq!(
        parsed["x_cache"],
        serde_json::json!(["MISS", "HIT", "MISS", "HIT"])
    );
    assert_eq!(parsed["a_replayed_as_stream"], parsed["a_original"]);
    assert_eq!(parsed["a_plain_stream_empty_choices"], 0);
    assert_eq!(parsed["b_replayed_stream_empty_choices"], 0);
    assert_eq!(
        parsed["a_original"]["tool_calls"][1]["arguments"],
        "{\"city\":\"Lyon\"}"
    );
    assert_eq!(parsed["a_original"]["usage"], 8);
    // The streaming client did not ask for usage, so its usage chunk was kept
    // from it; the entry stored it, and a JSON client always gets usage.
    assert_eq!(parsed["b_original"]["usage"], Value::Null);
    assert_eq!(parsed["b_replayed_as_json"]["usage"], 12);
    let without_usage = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("usage");
        v
    };
    assert_eq!(
        without_usage(&parsed["b_replayed_as_json"]),
        without_usage(&parsed["b_original"])
    );
    assert_eq!(
        parsed["b_original"]["tool_calls"][0]["arguments"],
        "{\"city\":\"Oslo\"}"
    );
    assert_eq!(parsed["b_original"]["finish_reason"], "tool_calls");
    assert_eq!(mock.hits(), 2);
}
