//! The shared mock upstream speaks Anthropic Messages and Gemini as their
//! official SDKs read them: driven directly (no gateway) with `anthropic`
//! and `google-genai`, text, streams, tools, thinking, usage, token
//! counting and errors all parse.

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::json;

use crate::mock_upstream::*;

#[tokio::test]
async fn the_providers_sdks_read_the_mocks_native_wires() {
    let mock = MockUpstream::start().await;
    let options = MockOptions::default();
    let model = "claude-sonnet-4-5";
    let ask = |stream: bool| json!({"model": model, "stream": stream});
    let replies = [
        anthropic::default_reply(&options, &ask(false)),
        anthropic::default_reply(&options, &ask(true)),
        Reply::Json(
            StatusCode::OK,
            anthropic_tool_use(model, "toolu_1", "get_weather", json!({"city": "Paris"})),
        ),
        Reply::Json(
            StatusCode::OK,
            anthropic_thinking(model, "Let me think.", "sig-abc", "Done."),
        ),
        anthropic::count_tokens_reply(&options, &json!({"messages": []})),
        anthropic_error(429, "rate_limit_error", "slow down"),
        gemini::generate_reply(&options, &json!({})),
        gemini::stream_reply(&options, &json!({})),
        Reply::Json(
            StatusCode::OK,
            gemini_response(
                json!([gemini_function_call(
                    "get_weather",
                    json!({"city": "Paris"})
                )]),
                "STOP",
                json!({"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}),
            ),
        ),
        gemini_error(400, "API key not valid"),
    ];
    for reply in replies {
        mock.push_reply(reply);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/mock_sdk_check.py");
    let output = tokio::process::Command::new(crate::sdk::python())
        .arg(script)
        .arg(mock.url("/anthropic"))
        .arg(mock.url("/gemini"))
        .env("NO_PROXY", "*")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "mock_sdk_check.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["a_text"], json!(["Hello from the mock", "end_turn", 5]));
    assert_eq!(
        out["a_stream"],
        json!(["tok0 tok1 tok2 ", "tok0 tok1 tok2 ", 3])
    );
    assert_eq!(
        out["a_tool"],
        json!(["tool_use", "toolu_1", "get_weather", {"city": "Paris"}])
    );
    assert_eq!(
        out["a_thinking"],
        json!(["thinking", "Let me think.", "sig-abc"])
    );
    assert!(out["a_count"].as_u64().unwrap() >= 1);
    assert_eq!(out["a_error"], json!([429, "rate_limit_error"]));
    assert_eq!(out["g_text"], json!(["Hello from the mock", 5]));
    assert_eq!(out["g_stream"], "tok0 tok1 tok2 ");
    assert_eq!(out["g_call"], json!(["get_weather", {"city": "Paris"}]));
    assert_eq!(out["g_error"], json!([400, "API key not valid"]));

    let seen = mock.recorded();
    let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/anthropic/v1/messages",
            "/anthropic/v1/messages",
            "/anthropic/v1/messages",
            "/anthropic/v1/messages",
            "/anthropic/v1/messages/count_tokens",
            "/anthropic/v1/messages",
            "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        ]
    );
    assert_eq!(seen[0].header("x-api-key").as_deref(), Some("sk-ant-mock"));
    assert!(seen[0].header("anthropic-version").is_some());
    assert_eq!(seen[6].header("x-goog-api-key").as_deref(), Some("gm-mock"));
    assert_eq!(seen[7].query, "alt=sse");
}
