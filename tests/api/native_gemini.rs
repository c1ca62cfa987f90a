//! Chat clients against Gemini's native API (`kind = "gemini"`): the
//! request as `generateContent` wants it (contents with user/model roles,
//! systemInstruction, generationConfig, cleaned function schemas, the key
//! in `x-goog-api-key`), tool calls given ids and their results sent back
//! by function name, streams from `streamGenerateContent?alt=sse` with the
//! last (cumulative) usage, finish reasons mapped.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

const MODEL: &str = "gemini-2.5-flash";

async fn native(mock: &MockUpstream) -> Gateway {
    Setup::on(mock)
        .env("GEMINI_BASE_URL", &mock.url("/gemini/v1beta"))
        .config("[providers.gemini]\nkind = \"gemini\"\n")
        .start()
        .await
}

#[tokio::test]
async fn a_chat_request_becomes_generate_content_with_the_key_in_its_header() {
    let mock = MockUpstream::start().await;
    let gateway = native(&mock).await;
    let body = json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["END"],
    });
    let response = gateway.chat(&body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Hello from the mock"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens"], 5);
    assert_eq!(answer["usage"]["completion_tokens"], 3);

    let upstream = mock.single();
    assert_eq!(
        upstream.path,
        format!("/gemini/v1beta/models/{MODEL}:generateContent")
    );
    assert_eq!(
        upstream.header("x-goog-api-key").as_deref(),
        Some(GEMINI_KEY)
    );
    assert_eq!(upstream.header("authorization"), None);
    let sent = upstream.json();
    assert_eq!(
        sent["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "How are you?"}]},
        ])
    );
    assert_eq!(sent["generationConfig"]["temperature"], 0.2);
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 50);
    assert_eq!(sent["generationConfig"]["stopSequences"], json!(["END"]));
}

#[tokio::test]
async fn function_calls_get_ids_and_their_results_go_back_by_name() {
    let mock = MockUpstream::start().await;
    let gateway = native(&mock).await;
    mock.push_reply(Reply::Json(
        StatusCode::OK,
        gemini_response(
            json!([gemini_function_call(
                "get_weather",
                json!({"city": "Paris"})
            )]),
            "STOP",
            json!({"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13}),
        ),
    ));
    let tools = json!([{"type": "function", "function": {
        "name": "get_weather",
        "parameters": {"$schema": "http://json-schema.org/draft-07/schema#",
                       "type": "object", "additionalProperties": false,
                       "properties": {"city": {"type": "string", "default": "Paris"}}}}}]);
    let ask = json!({"model": MODEL, "tools": tools,
                     "messages": [{"role": "user", "content": "Weather?"}]});
    let answer: Value = gateway.chat(&ask).await.json().await.unwrap();
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{answer}");
    let call = &choice["message"]["tool_calls"][0];
    let id = call["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert_eq!(call["function"]["name"], "get_weather");
    let sent = mock.single().json();
    let parameters = &sent["tools"][0]["functionDeclarations"][0]["parameters"];
    assert!(parameters.get("$schema").is_none(), "{parameters}");
    assert!(
        parameters.get("additionalProperties").is_none(),
        "{parameters}"
    );
    assert_eq!(parameters["properties"]["city"]["type"], "string");

    let follow_up = json!({"model": MODEL, "tools": tools, "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": id, "content": "{\"temp\": 18}"},
    ]});
    assert_eq!(gateway.chat(&follow_up).await.status(), 200);
    let sent = mock.recorded()[1].json();
    let contents = sent["contents"].as_array().unwrap();
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[1]["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
    assert_eq!(contents[2]["role"], "user");
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"temp": 18}})
    );
}

#[tokio::test]
async fn a_stream_takes_the_last_usage_and_maps_the_finish_reason() {
    let mock = MockUpstream::start().await;
    let gateway = native(&mock).await;
    let usage = |out: u64| {
        json!({"promptTokenCount": 6, "candidatesTokenCount": out,
                                  "totalTokenCount": 6 + out})
    };
    let events = gemini_events(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "One "}]},
                               "index": 0}], "usageMetadata": usage(1)}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "two"}]},
                               "finishReason": "MAX_TOKENS", "index": 0}],
               "usageMetadata": usage(2)}),
    ]);
    mock.push_reply(Reply::Sse(events));
    let mut body = chat_body(MODEL, true);
    body["stream_options"] = json!({"include_usage": true});
    let text = read_text(gateway.chat(&body).await).await;
    assert!(text.contains("\"content\":\"One \""), "{text}");
    assert!(text.contains("\"finish_reason\":\"length\""), "{text}");
    assert!(
        text.contains("\"prompt_tokens\":6,") && text.contains("\"completion_tokens\":2"),
        "the last usage, not a sum: {text}"
    );
    assert!(text.ends_with("data: [DONE]\n\n"));
    let upstream = mock.single();
    assert_eq!(
        upstream.path,
        format!("/gemini/v1beta/models/{MODEL}:streamGenerateContent")
    );
    assert_eq!(upstream.query, "alt=sse");
}

#[tokio::test]
async fn safety_stops_are_content_filter_and_errors_keep_the_message() {
    let mock = MockUpstream::start().await;
    let gateway = native(&mock).await;
    mock.push_reply(Reply::Json(
        StatusCode::OK,
        gemini_response(
            json!([{"text": ""}]),
            "SAFETY",
            json!({"promptTokenCount": 3}),
        ),
    ));
    let answer: Value = gateway
        .chat(&chat_body(MODEL, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");

    mock.push_reply(gemini_error(
        400,
        "API key not valid. Please pass a valid API key.",
    ));
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "again"}]});
    let error = expect_error(gateway.chat(&body).await, 400, "invalid_request_error").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key not valid"),
        "{error}"
    );
}
