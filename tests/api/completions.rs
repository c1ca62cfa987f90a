//! `POST /v1/completions` (legacy text completions): passed to
//! OpenAI-compatible upstreams, cached like chat, each form served from
//! the other's entry.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

async fn complete(gateway: &Gateway, body: &Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/v1/completions"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_answer_is_cached_and_served_in_either_form() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Tell me a story"});
    let response = complete(&gateway, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(cache_status(&response).0, "MISS");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["choices"][0]["text"], "Once upon a time");
    let upstream = mock.single();
    assert_eq!(upstream.path, "/openai/v1/completions");
    assert_eq!(upstream.json(), body);

    let again = complete(&gateway, &body).await;
    assert_eq!(cache_status(&again).0, "HIT");
    assert_eq!(again.json::<Value>().await.unwrap(), answer);

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let response = complete(&gateway, &streamed).await;
    assert_eq!(cache_status(&response).0, "HIT");
    let text = read_text(response).await;
    assert!(text.contains(r#""text":"Once upon a time""#), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert!(!text.contains("\"usage\""), "not asked for: {text}");
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_stream_is_relayed_with_usage_only_when_asked() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Tell", "stream": true});
    let text = read_text(complete(&gateway, &body).await).await;
    assert!(text.contains(r#""text":" upon a""#), "{text}");
    assert!(!text.contains("\"usage\""), "{text}");
    assert_eq!(
        mock.single().json()["stream_options"],
        json!({"include_usage": true}),
        "the gateway asks for usage to count it"
    );
    let mut asked = body.clone();
    asked["stream_options"] = json!({"include_usage": true});
    let text = read_text(complete(&gateway, &asked).await).await;
    assert!(text.contains(r#""completion_tokens":3"#), "{text}");
}

#[tokio::test]
async fn bad_bodies_and_providers_without_completions_are_refused() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let cases = [
        (
            json!({"model": "gpt-3.5-turbo-instruct"}),
            "invalid_parameter",
        ),
        (
            json!({"model": "gpt-3.5-turbo-instruct", "prompt": 5}),
            "invalid_parameter",
        ),
        (json!({"prompt": "x"}), "invalid_parameter"),
        (
            json!({"model": "claude-sonnet-4-5", "prompt": "x"}),
            "unsupported_by_provider",
        ),
    ];
    for (body, code) in cases {
        expect_error(complete(&gateway, &body).await, 400, code).await;
    }
    assert_eq!(mock.hits(), 0);
}
