//! `/v1/responses` seen by a client: passed through untranslated to a
//! provider that speaks Responses, either form served from the other's
//! entry, its usage read; stateful requests and tools without a
//! counterpart refused with their exact status and code.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

async fn respond(gateway: &Gateway, body: &Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/v1/responses"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn openai_gets_the_request_untranslated_and_a_hit_serves_either_form() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let text = r#"{"model":"gpt-4.1","input":[{"role":"user","content":"hi"}],"store":false,"include":["reasoning.encrypted_content"]}"#;
    let response = gateway
        .client
        .post(gateway.url("/v1/responses"))
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(cache_status(&response).0, "MISS");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, response_object("gpt-4.1", "Hello from Responses"));
    let upstream = mock.single();
    assert_eq!(upstream.path, "/openai/v1/responses");
    assert_eq!(upstream.body, text.as_bytes(), "byte for byte");

    let mut streamed: Value = serde_json::from_str(text).unwrap();
    streamed["stream"] = json!(true);
    let hit = respond(&gateway, &streamed).await;
    assert_eq!(cache_status(&hit).0, "HIT");
    let events = read_text(hit).await;
    assert!(events.starts_with("event: response.created\n"), "{events}");
    assert!(
        events.contains("event: response.output_text.delta\n"),
        "{events}"
    );
    assert!(events.contains("event: response.completed\n"), "{events}");
    assert!(!events.contains("[DONE]"));
    assert_eq!(mock.hits(), 1);

    let metrics = gateway
        .scrape_metrics_until(r#"kind="prompt",estimated="false"} 9"#)
        .await;
    assert!(
        metrics.contains(r#"kind="prompt",estimated="false"} 9"#)
            && metrics.contains(r#"kind="cached",estimated="false"} 4"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_stream_from_openai_is_relayed_as_it_came() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({"model": "gpt-4.1", "input": "hi", "stream": true});
    let text = read_text(respond(&gateway, &body).await).await;
    let sequence: Vec<u64> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| {
            serde_json::from_str::<Value>(data).unwrap()["sequence_number"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(sequence, (0..9).collect::<Vec<u64>>());
    assert!(mock.single().json().get("stream_options").is_none());
}

#[tokio::test]
async fn stateful_requests_and_tools_without_a_counterpart_are_refused() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let model = "deepseek-chat";
    let cases = [
        (
            json!({"model": model, "input": "hi", "store": true}),
            400,
            "invalid_parameter",
            "store",
        ),
        (
            json!({"model": model, "input": "hi", "previous_response_id": "resp_1"}),
            400,
            "invalid_parameter",
            "previous_response_id",
        ),
        (
            json!({"model": model, "input": "hi", "background": true}),
            400,
            "invalid_parameter",
            "background",
        ),
        (json!({"model": model}), 400, "invalid_parameter", "input"),
        (json!({"input": "hi"}), 400, "invalid_parameter", "model"),
        (
            json!({"model": model, "input": "hi", "tools": [{"type": "web_search"}]}),
            400,
            "unsupported_by_provider",
            "",
        ),
        (
            json!({"model": "nothing-here", "input": "hi"}),
            404,
            "model_not_found",
            "model",
        ),
    ];
    for (body, status, code, param) in cases {
        let error = expect_error(respond(&gateway, &body).await, status, code).await;
        if !param.is_empty() {
            assert_eq!(error["error"]["param"], param, "{body}");
        }
    }
    assert_eq!(mock.hits(), 0);
}
