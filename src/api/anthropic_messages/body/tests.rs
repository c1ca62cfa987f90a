use serde_json::{Value, json};

use super::*;

fn parse(text: &str) -> Result<MessagesBody, AppError> {
    MessagesBody::parse(Bytes::from(text.to_string()))
}

fn key_text(body: &MessagesBody) -> Vec<(String, String)> {
    body.key_fields()
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.get().to_string()))
        .collect()
}

const CLAUDE_CODE: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.0.14.a1b; cc_entrypoint=cli; cch=HASH;"},{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn reads_model_stream_and_wire() {
    let body = parse(r#"{"model":"claude-opus-4-1","max_tokens":1024,"messages":[{"role":"user","content":"Hello, world"}]}"#).unwrap();
    assert_eq!(body.model(), "claude-opus-4-1");
    assert!(!body.stream());
    assert!(!body.wants_stream_usage());
    assert_eq!(body.wire(), Wire::AnthropicMessages);
    assert_eq!(body.upstream_body("claude-opus-4-1", true), body.raw());
    let renamed: Value =
        serde_json::from_slice(&body.upstream_body("claude-opus-4-1-20250805", true)).unwrap();
    assert_eq!(renamed["model"], "claude-opus-4-1-20250805");
    assert!(renamed.get("stream_options").is_none());
}

#[test]
fn the_billing_line_does_not_change_the_key() {
    let first = parse(&CLAUDE_CODE.replace("HASH", "4f2e1")).unwrap();
    let second = parse(&CLAUDE_CODE.replace("HASH", "9ab07")).unwrap();
    assert_ne!(first.raw(), second.raw());
    assert_eq!(key_text(&first), key_text(&second));
    let system = key_text(&first)
        .into_iter()
        .find(|(name, _)| name == "system")
        .unwrap()
        .1;
    assert!(!system.contains("billing"));
    // Anything else still counts.
    let other = parse(
        &CLAUDE_CODE
            .replace("HASH", "4f2e1")
            .replace("official", "own"),
    )
    .unwrap();
    assert_ne!(key_text(&first), key_text(&other));
}

#[test]
fn a_system_without_billing_is_keyed_as_written() {
    let text = r#"{"model":"m","max_tokens":5,"system" : "Be  brief." ,"messages":[]}"#;
    let body = parse(text).unwrap();
    assert!(key_text(&body).contains(&("system".into(), r#""Be  brief.""#.into())));
    assert!(matches!(
        body.key_fields()
            .iter()
            .find(|(n, _)| *n == "system")
            .unwrap()
            .1,
        Cow::Borrowed(_)
    ));
}

#[test]
fn the_hub_body_is_chat_with_the_upstream_model() {
    let body = parse(&CLAUDE_CODE.replace("HASH", "1")).unwrap();
    let hub: Value =
        serde_json::from_slice(&body.hub_body("deepseek-chat", true).unwrap()).unwrap();
    assert_eq!(hub["model"], "deepseek-chat");
    assert_eq!(hub["stream"], true);
    assert_eq!(hub["stream_options"], json!({"include_usage": true}));
    assert_eq!(hub["messages"][1], json!({"role": "user", "content": "hi"}));
    assert!(!hub.to_string().contains("billing"));
    let quiet: Value =
        serde_json::from_slice(&body.hub_body("deepseek-chat", false).unwrap()).unwrap();
    assert!(quiet.get("stream_options").is_none());
}

#[test]
fn the_prompt_estimate_reads_the_chat_form() {
    let body = parse(r#"{"model":"m","max_tokens":5,"system":"You are a helpful assistant.","messages":[{"role":"user","content":[{"type":"text","text":"Hello there, how are you?"}]}]}"#).unwrap();
    let prompt = body.prompt();
    let estimate = (prompt.estimate)("claude-sonnet-4-5", &prompt.body);
    assert!(estimate > 10, "{estimate}");
    let server_tool = r#"{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"Hello there, how are you?"}]}"#;
    assert!(estimate_body("m", server_tool.as_bytes()) > 5);
    assert_eq!(estimate_body("m", b"not json"), 0);
}

#[test]
fn rejects_bad_bodies_with_the_right_code() {
    let cases = [
        ("not json", "invalid_json"),
        (r#"{"max_tokens":5,"messages":[]}"#, "invalid_parameter"),
        (
            r#"{"model":"","max_tokens":5,"messages":[]}"#,
            "invalid_parameter",
        ),
        (r#"{"model":"m","max_tokens":5}"#, "invalid_parameter"),
        (
            r#"{"model":"m","max_tokens":5,"messages":{}}"#,
            "invalid_parameter",
        ),
        (r#"{"model":"m","messages":[]}"#, "invalid_parameter"),
        (
            r#"{"model":"m","max_tokens":0,"messages":[]}"#,
            "invalid_parameter",
        ),
        (
            r#"{"model":"m","max_tokens":-3,"messages":[]}"#,
            "invalid_parameter",
        ),
        (
            r#"{"model":"m","max_tokens":1.5,"messages":[]}"#,
            "invalid_parameter",
        ),
        (
            r#"{"model":"m","max_tokens":"100","messages":[]}"#,
            "invalid_parameter",
        ),
        (
            r#"{"model":"m","max_tokens":5,"messages":[],"stream":"yes"}"#,
            "invalid_parameter",
        ),
    ];
    for (text, code) in cases {
        let error = parse(text).unwrap_err();
        assert_eq!(error.code(), code, "{text}");
    }
    let missing = parse(r#"{"model":"m","messages":[]}"#).unwrap_err();
    assert!(matches!(
        missing,
        AppError::InvalidField {
            param: "max_tokens",
            ..
        }
    ));
}
