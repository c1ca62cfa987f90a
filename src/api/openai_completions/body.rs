//! The legacy completions request body: a string `model`, a `prompt`
//! (a string, a list of strings, a token list or a list of token lists),
//! `stream` and `stream_options` as in chat. Parsed shallowly
//! ([`JsonBody`]) and forwarded as it came, `model` rewritten.

use std::borrow::Cow;

use axum::body::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::api::body::{JsonBody, invalid};
use crate::error::AppError;
use crate::notes::Prompt;
use crate::pipeline::ParsedRequest;
use crate::wire::Wire;

/// A validated completions body.
#[derive(Debug)]
pub struct CompletionsBody {
    body: JsonBody,
    model: String,
    stream: bool,
    include_usage: bool,
}

impl CompletionsBody {
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        match body.field("prompt") {
            Some(v) if v.starts_with('"') || v.starts_with('[') => {}
            Some(_) => {
                return Err(invalid(
                    "prompt",
                    "`prompt` must be a string, a list of strings or a list of tokens",
                ));
            }
            None => return Err(invalid("prompt", "`prompt` is required")),
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
}

impl ParsedRequest for CompletionsBody {
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
        self.body
            .fields()
            .map(|(name, value)| (name, Cow::Borrowed(value)))
            .collect()
    }

    fn wire(&self) -> Wire {
        Wire::OpenAiCompletions
    }

    fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        self.body
            .for_upstream(&self.model, upstream_model, ask_usage)
    }

    fn hub_body(&self, _upstream_model: &str, _ask_usage: bool) -> Result<Bytes, AppError> {
        Err(AppError::Unsupported(
            "legacy completions (/v1/completions) are served by OpenAI-compatible providers \
             only; use /v1/chat/completions for this model"
                .into(),
        ))
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.body.raw().clone(),
            estimate: estimate_prompt,
        }
    }
}

/// The prompt's tokens: its texts counted, token lists by their length.
fn estimate_prompt(model: &str, body: &[u8]) -> u64 {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    count_prompt(model, &body["prompt"])
}

fn count_prompt(model: &str, prompt: &Value) -> u64 {
    match prompt {
        Value::String(text) => crate::tokens::count_text_tokens(model, text),
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(|item| count_prompt(model, item)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CompletionsBody, AppError> {
        CompletionsBody::parse(Bytes::from(text.to_string()))
    }

    #[test]
    fn prompts_of_every_form_are_taken_and_counted() {
        for prompt in [r#""hi""#, r#"["a","b"]"#, "[1,2,3]", "[[1,2],[3]]"] {
            let body = parse(&format!(r#"{{"model":"m","prompt":{prompt}}}"#)).unwrap();
            assert_eq!(body.wire(), Wire::OpenAiCompletions);
        }
        let tokens = br#"{"model":"gpt-3.5-turbo-instruct","prompt":[[1,2],[3]]}"#;
        assert_eq!(estimate_prompt("gpt-3.5-turbo-instruct", tokens), 3);
    }

    #[test]
    fn bad_bodies_are_refused_with_their_code() {
        for (text, code) in [
            (r#"{"model":"m"}"#, "invalid_parameter"),
            (r#"{"model":"m","prompt":7}"#, "invalid_parameter"),
            (r#"{"prompt":"x"}"#, "invalid_parameter"),
            (
                r#"{"model":"m","prompt":"x","stream":1}"#,
                "invalid_parameter",
            ),
            ("{", "invalid_json"),
        ] {
            assert_eq!(parse(text).unwrap_err().code(), code, "{text}");
        }
        let body = parse(r#"{"model":"m","prompt":"x"}"#).unwrap();
        assert_eq!(
            body.hub_body("m", false).unwrap_err().code(),
            "unsupported_by_provider"
        );
    }
}
