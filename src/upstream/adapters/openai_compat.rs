//! The OpenAI-compatible adapter: OpenAI itself and every vendor or local
//! server that accepts the same API (DeepSeek, OpenRouter, DashScope,
//! Gemini's compatible endpoint, vLLM, Ollama, LM Studio, …).
//!
//! It speaks chat completions (the exchange's own form), legacy
//! completions and embeddings, and — for a provider that says so
//! (`responses_api`, on for the built-in `openai`) — the Responses API:
//! those bodies go as they came to `{base_url}/chat/completions`,
//! `/completions`, `/embeddings` or `/responses` with a Bearer key. Anthropic
//! Messages and Responses requests for a provider without the Responses API
//! arrive translated into chat; llm-bridge's own fields of the exchange
//! (`reasoning_signature`, `cache_control`) are taken out of those first, so
//! an OpenAI-compatible server never sees them. Answers come back in the
//! wire of the endpoint.

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{Adapter, Outbound, Prepared, joined, unsupported};
use crate::config::ProviderKind;
use crate::error::AppError;
use crate::wire::Wire;

/// An OpenAI-compatible provider: its URLs.
#[derive(Debug)]
pub struct OpenAiCompat {
    chat_url: reqwest::Url,
    completions_url: reqwest::Url,
    embeddings_url: reqwest::Url,
    /// `Some` when it serves the Responses API itself.
    responses_url: Option<reqwest::Url>,
}

impl OpenAiCompat {
    /// The adapter for a provider at `base_url` (which ends in its version
    /// path, such as `/v1`).
    pub fn new(base_url: &reqwest::Url, responses_api: bool) -> Self {
        Self {
            chat_url: joined(base_url, "chat/completions"),
            completions_url: joined(base_url, "completions"),
            embeddings_url: joined(base_url, "embeddings"),
            responses_url: responses_api.then(|| joined(base_url, "responses")),
        }
    }

    fn url(&self, wire: Wire) -> Option<&reqwest::Url> {
        match wire {
            Wire::OpenAiChat => Some(&self.chat_url),
            Wire::OpenAiCompletions => Some(&self.completions_url),
            Wire::OpenAiEmbeddings => Some(&self.embeddings_url),
            Wire::OpenAiResponses => self.responses_url.as_ref(),
            Wire::AnthropicMessages | Wire::AnthropicCountTokens | Wire::Gemini => None,
        }
    }
}

impl Adapter for OpenAiCompat {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn speaks(&self, wire: Wire) -> bool {
        self.url(wire).is_some()
    }

    fn prepare(&self, outbound: Outbound) -> Result<Prepared, AppError> {
        let url = self
            .url(outbound.wire)
            .ok_or_else(|| unsupported(ProviderKind::OpenAi, outbound.wire))?;
        let body = match outbound.translated {
            true => without_own_fields(outbound.body),
            false => outbound.body,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(Prepared {
            url: url.clone(),
            body,
            headers,
            answers: outbound.wire,
        })
    }

    fn forwards(&self, name: &HeaderName) -> bool {
        !name.as_str().starts_with("anthropic-")
    }

    fn authorize(&self, headers: &mut HeaderMap, authorization: HeaderValue) {
        headers.insert(header::AUTHORIZATION, authorization);
    }
}

/// A translated chat body without llm-bridge's own fields of the exchange.
fn without_own_fields(body: Bytes) -> Bytes {
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(messages) = value.get_mut("messages").and_then(Value::as_array_mut) else {
        return body;
    };
    for message in messages.iter_mut().filter_map(Value::as_object_mut) {
        message.remove("reasoning_signature");
        message.remove("cache_control");
        if let Some(parts) = message.get_mut("content").and_then(Value::as_array_mut) {
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                part.remove("cache_control");
            }
        }
    }
    if let Some(tools) = value.get_mut("tools").and_then(Value::as_array_mut) {
        for tool in tools.iter_mut().filter_map(Value::as_object_mut) {
            tool.remove("cache_control");
        }
    }
    serde_json::to_vec(&value).map_or(body, Bytes::from)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn outbound(wire: Wire, body: Value, translated: bool) -> Outbound {
        Outbound {
            wire,
            body: Bytes::from(body.to_string()),
            model: "m".into(),
            stream: false,
            translated,
        }
    }

    #[test]
    fn each_endpoint_has_its_url_and_responses_only_when_served() {
        let base = reqwest::Url::parse("http://h/v1/").unwrap();
        let adapter = OpenAiCompat::new(&base, false);
        let url = |wire| {
            adapter
                .prepare(outbound(wire, json!({}), false))
                .map(|p| p.url.to_string())
        };
        assert_eq!(
            url(Wire::OpenAiChat).unwrap(),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            url(Wire::OpenAiCompletions).unwrap(),
            "http://h/v1/completions"
        );
        assert_eq!(
            url(Wire::OpenAiEmbeddings).unwrap(),
            "http://h/v1/embeddings"
        );
        assert!(!adapter.speaks(Wire::OpenAiResponses));
        assert_eq!(
            url(Wire::OpenAiResponses).unwrap_err().code(),
            "unsupported_by_provider"
        );
        let with_responses = OpenAiCompat::new(&base, true);
        assert!(with_responses.speaks(Wire::OpenAiResponses));
    }

    #[test]
    fn own_fields_leave_only_translated_bodies() {
        let base = reqwest::Url::parse("http://h/v1").unwrap();
        let adapter = OpenAiCompat::new(&base, false);
        let body = json!({"model": "m", "messages": [{"role": "assistant", "content": [
            {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}],
            "reasoning_content": "r", "reasoning_signature": "s"}]});
        let sent = |translated| {
            let prepared = adapter.prepare(outbound(Wire::OpenAiChat, body.clone(), translated));
            serde_json::from_slice::<Value>(&prepared.unwrap().body).unwrap()
        };
        assert_eq!(sent(false), body);
        let message = &sent(true)["messages"][0];
        assert_eq!(message["reasoning_content"], "r");
        assert!(message.get("reasoning_signature").is_none());
        assert!(message["content"][0].get("cache_control").is_none());
    }
}
