//! The OpenAI-compatible adapter: OpenAI itself and every vendor or local
//! server that accepts the same API (DeepSeek, OpenRouter, DashScope, Gemini's
//! compatible endpoint, vLLM, Ollama, LM Studio, …).

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::{Forwarded, Gate, KeyRing, Provider, UpstreamRequest};
use crate::config::{ProviderConfig, RetryPolicy, Timeouts};

/// Idle keep-alive connections kept per upstream host.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// An OpenAI-compatible upstream with its own pooled HTTP client.
#[derive(Debug)]
pub struct OpenAiCompatible {
    name: String,
    chat_url: reqwest::Url,
    public_base_url: String,
    keys: KeyRing,
    extra_headers: HeaderMap,
    models: Vec<String>,
    listed: bool,
    timeouts: Timeouts,
    retry: RetryPolicy,
    gate: Option<Gate>,
    stream_usage: bool,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    /// Builds the adapter and its HTTP client (one connection pool per
    /// provider, so a proxy or timeout setting applies only to it).
    pub fn new(config: &ProviderConfig) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            // Only the connect timeout is reqwest's: first byte, idle gap and
            // total time are enforced around the body (crate::upstream), where
            // each can be told apart and a stream ended cleanly.
            .connect_timeout(config.timeouts.connect)
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            // Enough warm connections for bursts; past that, a burst's extra
            // connections close instead of holding memory while idle.
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
            // A proxy relays redirects; it does not follow them (a POST
            // body must not be re-sent somewhere else).
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("llm-bridge/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if let Some(proxy) = &config.proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy.expose())?);
        }
        let client = builder.build()?;

        let mut chat_url = config.base_url.clone();
        let path = format!("{}/chat/completions", chat_url.path().trim_end_matches('/'));
        chat_url.set_path(&path);

        let keys = KeyRing::new(&config.api_keys, config.key_cooldown);
        let extra_headers = config.headers.iter().cloned().collect();

        let mut public = config.base_url.clone();
        // Only fails for URLs that cannot have credentials, which is fine.
        let _ = public.set_username("");
        let _ = public.set_password(None);

        Ok(Self {
            name: config.name.clone(),
            chat_url,
            public_base_url: public.to_string().trim_end_matches('/').to_string(),
            listed: !keys.is_empty() || config.declared,
            keys,
            extra_headers,
            models: config.models.clone(),
            timeouts: config.timeouts,
            retry: config.retry,
            gate: config.concurrency.map(Gate::new),
            stream_usage: config.stream_usage,
            client,
        })
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn has_key(&self) -> bool {
        !self.keys.is_empty()
    }

    fn models(&self) -> &[String] {
        &self.models
    }

    fn listed(&self) -> bool {
        self.listed
    }

    fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn stream_usage(&self) -> bool {
        self.stream_usage
    }

    fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    fn public_base_url(&self) -> String {
        self.public_base_url.clone()
    }

    fn chat_request(&self, body: Bytes, forwarded: &Forwarded) -> UpstreamRequest {
        let mut headers = forwarded.headers.clone();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        let own = self.keys.pick();
        match (&own, &forwarded.client_authorization) {
            (Some(key), _) => {
                headers.insert(header::AUTHORIZATION, key.authorization.clone());
            }
            (None, Some(client)) => {
                headers.insert(header::AUTHORIZATION, client.clone());
            }
            (None, None) => {}
        }
        UpstreamRequest {
            request: self
                .client
                .post(self.chat_url.clone())
                .headers(headers)
                .body(body),
            key: own.map(|key| key.index),
        }
    }

    fn key_failed(&self, key: usize) -> bool {
        self.keys.cool_down(key)
    }
}
