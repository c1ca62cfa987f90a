//! The chat-completions request body: parsed once, shallowly, and checked
//! (a string `model`, an array `messages`, a boolean `stream`, an object
//! `stream_options`).
//!
//! Parsed as a [`JsonBody`]: only the top level split, values kept as
//! written, so forwarding changes nothing but `model`.

use std::borrow::Cow;

use axum::body::Bytes;
use serde_json::value::RawValue;

use crate::api::body::{JsonBody, invalid};
use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::ParsedRequest;
use crate::wire::Wire;

/// A validated chat-completions body.
#[derive(Debug)]
pub struct ChatBody {
    body: JsonBody,
    model: String,
    stream: bool,
    /// `stream_options.include_usage`.
    include_usage: bool,
}

impl ChatBody {
    /// Parses and validates the body: a JSON object with a string `model` and
    /// an array `messages`.
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        match body.field("messages") {
            Some(v) if v.starts_with('[') => {}
            Some(_) => return Err(invalid("messages", "`messages` must be an array")),
            None => return Err(invalid("messages", "`messages` is required")),
        }
        let stream = body.flag("stream")?;
        let include_usage = body.include_usage()?;
        Ok(Self {
            body,
            model,
            stream,
            include_usage,
        })
    }

    /// Top-level fields in the order written, values as written.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.body.fields()
    }

    fn for_upstream(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        self.body
            .for_upstream(&self.model, upstream_model, ask_usage)
    }
}

impl ParsedRequest for ChatBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        self.stream
    }

    fn wants_stream_usage(&self) -> bool {
        self.include_usage
    }

    fn raw(&self) -> &Bytes {
        self.body.raw()
    }

    fn key_fields(&self) -> Vec<(&str, Cow<'_, RawValue>)> {
        self.fields()
            .map(|(name, value)| (name, Cow::Borrowed(value)))
            .collect()
    }

    fn wire(&self) -> Wire {
        Wire::OpenAiChat
    }

    fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        self.for_upstream(upstream_model, ask_usage)
    }

    fn hub_body(&self, upstream_model: &str, ask_usage: bool) -> Result<Bytes, AppError> {
        Ok(self.for_upstream(upstream_model, ask_usage))
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.body.raw().clone(),
            estimate: crate::tokens::openai_chat::estimate_body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ChatBody, AppError> {
        ChatBody::parse(Bytes::from(text.to_string()))
    }

    #[test]
    fn keeps_bytes_when_model_is_unchanged() {
        let text = r#"{ "model" : "gpt-4.1", "messages": [ {"role":"user","content":"hi"} ] }"#;
        let body = parse(text).unwrap();
        assert_eq!(body.model(), "gpt-4.1");
        assert!(!body.stream());
        assert_eq!(body.for_upstream("gpt-4.1", false), text.as_bytes());
    }

    #[test]
    fn asks_for_stream_usage_keeping_other_stream_options() {
        let text = r#"{"model":"gpt-4.1","messages":[],"stream":true}"#;
        let out = parse(text).unwrap().for_upstream("gpt-4.1", true);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#
        );
        let text = r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":{"include_obfuscation":false}}"#;
        let out = parse(text).unwrap().for_upstream("x", true);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value["stream_options"],
            serde_json::json!({"include_obfuscation": false, "include_usage": true})
        );
        assert_eq!(value["model"], "x");
    }

    #[test]
    fn rewrites_only_the_model() {
        let text = r#"{"messages":[{"role":"user","content":"h\u00e9"}],"model":"deepseek/deepseek-chat","temperature":1e-1,"stream":true}"#;
        let body = parse(text).unwrap();
        assert!(body.stream());
        let out = body.for_upstream("deepseek-chat", false);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"messages":[{"role":"user","content":"h\u00e9"}],"model":"deepseek-chat","temperature":1e-1,"stream":true}"#
        );
    }

    #[test]
    fn rejects_bad_bodies_with_the_right_code() {
        let cases = [
            ("not json", "invalid_json"),
            ("[1,2]", "invalid_json"),
            (r#"{"model":"a","model":"b","messages":[]}"#, "invalid_json"),
            (r#"{"messages":[]}"#, "invalid_parameter"),
            (r#"{"model":7,"messages":[]}"#, "invalid_parameter"),
            (r#"{"model":"  ","messages":[]}"#, "invalid_parameter"),
            (r#"{"model":"gpt-4.1"}"#, "invalid_parameter"),
            (
                r#"{"model":"gpt-4.1","messages":"hi"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream":"yes"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":"x"}"#,
                "invalid_parameter",
            ),
            (
                r#"{"model":"gpt-4.1","messages":[],"stream_options":{"include_usage":"yes"}}"#,
                "invalid_parameter",
            ),
        ];
        for (text, code) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.code(), code, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{"model":"m","messages":[],"x":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(parse(&deep).unwrap_err().code(), "invalid_json");
        let tricky_string = r#""[[[[\"{{""#;
        let fine = format!(
            r#"{{"model":"m","messages":[],"x":{}{tricky_string}{}}}"#,
            "[".repeat(120),
            "]".repeat(120)
        );
        assert!(parse(&fine).is_ok());
    }
}
