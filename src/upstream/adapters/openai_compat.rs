//! The OpenAI-compatible adapter: OpenAI itself and every vendor or local
//! server that accepts the same API (DeepSeek, OpenRouter, DashScope,
//! Gemini's compatible endpoint, vLLM, Ollama, LM Studio, …). Its API is
//! the exchange's own, so both sides are the identity: the body goes as it
//! is to `{base_url}/chat/completions` with a Bearer key, and the answers
//! come back as OpenAI chat.

use reqwest::header::{self, HeaderValue};

use super::{Adapter, Call};
use crate::config::ProviderKind;
use crate::wire::Wire;

/// The identity adapter of an OpenAI-compatible provider: its chat URL.
#[derive(Debug)]
pub struct OpenAiCompat {
    chat_url: reqwest::Url,
}

impl OpenAiCompat {
    /// The adapter for a provider at `base_url` (which ends in its version
    /// path, such as `/v1`).
    pub fn new(base_url: &reqwest::Url) -> Self {
        let mut chat_url = base_url.clone();
        let path = format!("{}/chat/completions", chat_url.path().trim_end_matches('/'));
        chat_url.set_path(&path);
        Self { chat_url }
    }
}

impl Adapter for OpenAiCompat {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn wire(&self) -> Wire {
        Wire::OpenAiChat
    }

    fn request(&self, client: &reqwest::Client, call: Call) -> reqwest::RequestBuilder {
        let mut headers = call.headers;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(authorization) = call.authorization {
            headers.insert(header::AUTHORIZATION, authorization);
        }
        client
            .post(self.chat_url.clone())
            .headers(headers)
            .body(call.body)
    }
}
