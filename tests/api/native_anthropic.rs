//! Chat clients against an Anthropic-native upstream (`kind = "anthropic"`,
//! the built-in `anthropic` provider): the request as Anthropic's API
//! wants it (the exact body, the key in `x-api-key`), answers translated
//! back (text, tool calls with their ids, finish reasons, usage with cache
//! reads and writes), streams translated as they arrive, errors in the
//! client's shape, overload retried, hits served in either form.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;
use crate::reader::*;

const MODEL: &str = "claude-sonnet-4-5";

#[tokio::test]
async fn a_chat_request_goes_to_messages_with_the_providers_key() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Answer in English."},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
        ],
        "stop": "END",
        "temperature": 0.5,
    });
    let response = gateway.chat(&body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-llm-bridge-model"),
        format!("anthropic/{MODEL}")
    );
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Hello from the mock"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens"], 5);
    assert_eq!(answer["usage"]["completion_tokens"], 3);
    assert_eq!(answer["usage"]["total_tokens"], 8);

    let upstream = mock.single();
    assert_eq!(upstream.path, "/anthropic/v1/messages");
    assert_eq!(upstream.header("x-api-key").as_deref(), Some(ANTHROPIC_KEY));
    assert_eq!(upstream.header("authorization"), None);
    assert_eq!(
        upstream.header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
    assert_eq!(
        upstream.json(),
        json!({
            "model": MODEL,
            "max_tokens": 4096,
            "system": "Be brief.\n\nAnswer in English.",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Hi"},
                {"type": "text", "text": "there"},
            ]}],
            "stop_sequences": ["END"],
            "temperature": 0.5,
            "stream": false,
        })
    );
}

#[tokio::test]
async fn tool_calls_come_back_with_their_ids_and_results_go_in_the_next_user_turn() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    mock.push_reply(Reply::Json(
        StatusCode::OK,
        anthropic_tool_use(MODEL, "toolu_01A", "get_weather", json!({"city": "Paris"})),
    ));
    let tools = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let ask = json!({
        "model": MODEL, "tools": tools, "tool_choice": "required",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    });
    let answer: Value = gateway.chat(&ask).await.json().await.unwrap();
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01A");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"city": "Paris"}));
    let sent = mock.single().json();
    assert_eq!(sent["tool_choice"], json!({"type": "any"}));
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["input_schema"]["properties"]["city"]["type"],
        "string"
    );

    let follow_up = json!({
        "model": MODEL, "tools": tools,
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "toolu_01A", "content": "18 C, sunny"},
            {"role": "user", "content": "Thanks"},
        ],
    });
    assert_eq!(gateway.chat(&follow_up).await.status(), 200);
    let sent = mock.recorded()[1].json();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{sent}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"][0],
        json!({"type": "tool_use", "id": "toolu_01A", "name": "get_weather",
               "input": {"city": "Paris"}})
    );
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "toolu_01A");
    assert_eq!(
        messages[2]["content"][1],
        json!({"type": "text", "text": "Thanks"})
    );
}

#[tokio::test]
async fn usage_counts_cache_reads_and_writes_in_the_prompt() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let usage = json!({"input_tokens": 100, "output_tokens": 7,
                       "cache_read_input_tokens": 50, "cache_creation_input_tokens": 20});
    let message = anthropic_message(
        MODEL,
        json!([{"type": "text", "text": "ok"}]),
        "max_tokens",
        usage,
    );
    mock.push_reply(Reply::Json(StatusCode::OK, message));
    let answer: Value = gateway
        .chat(&chat_body(MODEL, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
    assert_eq!(answer["usage"]["prompt_tokens"], 170);
    assert_eq!(answer["usage"]["completion_tokens"], 7);
    assert_eq!(
        answer["usage"]["prompt_tokens_details"]["cached_tokens"],
        50
    );
}

#[tokio::test]
async fn a_translated_stream_reaches_the_client_while_the_upstream_holds_the_rest() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let message = anthropic_text(MODEL, "Hello there, friend");
    let events = anthropic_events(&message);
    // Everything up to the first text delta goes out; the rest waits for
    // the test.
    let first_delta = events
        .iter()
        .position(|event| event.contains("text_delta"))
        .unwrap();
    let (before, after) = events.split_at(first_delta + 1);
    mock.push_reply(Reply::GatedSse {
        before: before.to_vec(),
        after: after.to_vec(),
    });
    let mut response = gateway.chat(&chat_body(MODEL, true)).await;
    assert_eq!(response.status(), 200);
    let first = read_until(&mut response, "\"content\":\"H").await;
    assert!(first.contains("chat.completion.chunk"), "{first}");
    mock.release();
    let text = rest(&mut response, first).await;
    assert!(text.contains("\"finish_reason\":\"stop\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("\"usage\""), "not asked for: {text}");
}

#[tokio::test]
async fn errors_are_rendered_for_the_client_and_overload_is_retried() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    mock.push_reply(anthropic_error(529, "overloaded_error", "Overloaded"));
    let response = gateway.chat(&chat_body(MODEL, false)).await;
    assert_eq!(response.status(), 200, "529 is retried");
    assert_eq!(mock.hits(), 2);

    mock.push_reply(anthropic_error(
        400,
        "invalid_request_error",
        "messages: roles must alternate",
    ));
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "other"}]});
    let error = expect_error(gateway.chat(&body).await, 400, "invalid_request_error").await;
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("roles must alternate"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stored_anthropic_answer_is_served_to_chat_in_either_form() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let first = gateway.chat(&chat_body(MODEL, false)).await;
    assert_eq!(cache_status(&first).0, "MISS");
    let key = cache_status(&first).1;
    let _: Value = first.json().await.unwrap();
    gateway.cache_written().await;
    let meta: Value = serde_json::from_slice(
        &std::fs::read(gateway.cache_dir.join(format!("{key}.meta.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["wire"], "anthropic_messages");
    let stored: Value = serde_json::from_slice(
        &std::fs::read(gateway.cache_dir.join(format!("{key}.txt"))).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["type"], "message", "stored as the upstream sent it");

    let hit = gateway.chat(&chat_body(MODEL, true)).await;
    assert_eq!(cache_status(&hit).0, "HIT");
    let text = read_text(hit).await;
    assert!(
        text.contains("\"content\":\"Hello from the mock\""),
        "{text}"
    );
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_messages_client_goes_byte_for_byte_with_its_version_and_betas() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let text = r#"{"model":"claude-sonnet-4-5","max_tokens":20,"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}"#;
    let response = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .header("content-type", "application/json")
        .header("x-api-key", "sk-client-own")
        .header("anthropic-version", "2024-10-22")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        anthropic_text(MODEL, "Hello from the mock"),
        "passed through"
    );
    let upstream = mock.single();
    assert_eq!(upstream.body, text.as_bytes());
    assert_eq!(
        upstream.header("anthropic-version").as_deref(),
        Some("2024-10-22")
    );
    assert_eq!(
        upstream.header("anthropic-beta").as_deref(),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(
        upstream.header("x-api-key").as_deref(),
        Some(ANTHROPIC_KEY),
        "the provider's key, never the client's"
    );
}
