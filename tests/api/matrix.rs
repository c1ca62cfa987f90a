//! Every dialect with every provider kind, streamed and not: chat,
//! Anthropic Messages and Responses clients against an OpenAI-compatible,
//! an Anthropic-native and a Gemini-native upstream (the mock's default
//! answers), each answer read in the client's own format, then served again
//! from the cache in the other form.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// A client's request for `model`, and how to read the answer's text from
/// its JSON body and from its stream.
struct Dialect {
    path: &'static str,
    body: fn(&str, bool) -> Value,
    text: fn(&Value) -> String,
    /// An event of the stream that carries text, and where.
    stream_text: fn(&Value) -> Option<String>,
    /// The stream's last event says it ended well.
    stream_end: &'static str,
}

const DIALECTS: [Dialect; 3] = [
    Dialect {
        path: "/v1/chat/completions",
        body: |model, stream| chat_body(model, stream),
        text: |answer| {
            answer["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .into()
        },
        stream_text: |event| {
            event["choices"][0]["delta"]["content"]
                .as_str()
                .map(Into::into)
        },
        stream_end: "data: [DONE]",
    },
    Dialect {
        path: "/v1/messages",
        body: |model, stream| {
            json!({"model": model, "max_tokens": 50, "stream": stream,
                   "messages": [{"role": "user", "content": "hi"}]})
        },
        text: |answer| answer["content"][0]["text"].as_str().unwrap().into(),
        stream_text: |event| event["delta"]["text"].as_str().map(Into::into),
        stream_end: "event: message_stop",
    },
    Dialect {
        path: "/v1/responses",
        body: |model, stream| json!({"model": model, "input": "hi", "stream": stream}),
        text: |answer| {
            answer["output"][0]["content"][0]["text"]
                .as_str()
                .unwrap()
                .into()
        },
        stream_text: |event| match event["type"] == "response.output_text.delta" {
            true => event["delta"].as_str().map(Into::into),
            false => None,
        },
        stream_end: "event: response.completed",
    },
];

/// The text of a stream, and whether its last event is `end`.
fn read_stream(text: &str, dialect: &Dialect) -> (String, bool) {
    let pieces: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|event| (dialect.stream_text)(&event))
        .collect();
    let last = text.trim_end().rsplit("\n\n").next().unwrap_or_default();
    (pieces, last.starts_with(dialect.stream_end))
}

#[tokio::test]
async fn every_dialect_reads_every_provider_kind_in_both_forms() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("GEMINI_BASE_URL", &mock.url("/gemini/v1beta"))
        .config("[providers.gemini]\nkind = \"gemini\"\n")
        .start()
        .await;
    let models = [
        ("deepseek-chat", "tok0 tok1 tok2 "),
        ("claude-sonnet-4-5", "tok0 tok1 tok2 "),
        ("gemini-2.5-flash", "tok0 tok1 tok2 "),
    ];
    for dialect in &DIALECTS {
        for (model, streamed) in models {
            let post = |stream: bool| {
                gateway
                    .client
                    .post(gateway.url(dialect.path))
                    .json(&(dialect.body)(model, stream))
                    .send()
            };
            let whole = post(false).await.unwrap();
            assert_eq!(whole.status(), 200, "{} {model}", dialect.path);
            assert_eq!(cache_status(&whole).0, "MISS");
            let answer: Value = whole.json().await.unwrap();
            assert_eq!(
                (dialect.text)(&answer),
                "Hello from the mock",
                "{} {model}: {answer}",
                dialect.path
            );

            let hit = post(true).await.unwrap();
            assert_eq!(cache_status(&hit).0, "HIT", "{} {model}", dialect.path);
            let (text, ended) = read_stream(&read_text(hit).await, dialect);
            assert_eq!(text, "Hello from the mock", "{} {model}", dialect.path);
            assert!(ended, "{} {model}", dialect.path);

            let mut fresh = (dialect.body)(model, true);
            fresh["temperature"] = json!(0.3);
            let response = gateway
                .client
                .post(gateway.url(dialect.path))
                .json(&fresh)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let (text, ended) = read_stream(&read_text(response).await, dialect);
            assert_eq!(text, streamed, "{} {model}", dialect.path);
            assert!(ended, "{} {model}", dialect.path);
        }
    }
    assert_eq!(mock.hits(), 18, "two upstream calls per dialect and model");
}
