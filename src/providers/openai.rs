//! The OpenAI-compatible adapter: OpenAI itself and every vendor or local
//! server that accepts the same API (DeepSeek, OpenRouter, DashScope, Gemini's
//! compatible endpoint, vLLM, Ollama, LM Studio, …).

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::{Forwarded, Provider};
use crate::config::ProviderConfig;

/// Client headers forwarded upstream. An allow-list: hop-by-hop headers,
/// `content-length`, `accept-encoding` and every credential header stay
/// behind. The OpenRouter attribution headers are kept because users set
/// them on purpose.
const FORWARDED_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "http-referer",
    "x-title",
    "openai-beta",
];

/// Idle keep-alive connections kept per upstream host.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// An OpenAI-compatible upstream with its own pooled HTTP client.
#[derive(Debug)]
pub struct OpenAiCompatible {
    name: String,
    chat_url: reqwest::Url,
    public_base_url: String,
    authorization: Option<HeaderValue>,
    extra_headers: HeaderMap,
    models: Vec<String>,
    listed: bool,
    read_timeout: std::time::Duration,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    /// Builds the adapter and its HTTP client (one connection pool per
    /// provider, so a proxy or timeout setting applies only to it).
    pub fn new(config: &ProviderConfig) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
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

        let authorization = config.api_key.as_ref().and_then(|key| {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose())).ok()?;
            value.set_sensitive(true);
            Some(value)
        });
        let extra_headers = config.headers.iter().cloned().collect();

        let mut public = config.base_url.clone();
        // Only fails for URLs that cannot have credentials, which is fine.
        let _ = public.set_username("");
        let _ = public.set_password(None);

        Ok(Self {
            name: config.name.clone(),
            chat_url,
            public_base_url: public.to_string().trim_end_matches('/').to_string(),
            authorization,
            extra_headers,
            models: config.models.clone(),
            listed: config.api_key.is_some() || config.declared,
            read_timeout: config.read_timeout,
            client,
        })
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn has_key(&self) -> bool {
        self.authorization.is_some()
    }

    fn models(&self) -> &[String] {
        &self.models
    }

    fn listed(&self) -> bool {
        self.listed
    }

    fn read_timeout(&self) -> std::time::Duration {
        self.read_timeout
    }

    fn public_base_url(&self) -> String {
        self.public_base_url.clone()
    }

    fn chat_request(&self, body: Bytes, forwarded: Forwarded<'_>) -> reqwest::RequestBuilder {
        let mut headers = HeaderMap::with_capacity(8);
        if let Some(client_headers) = forwarded.headers {
            for name in FORWARDED_HEADERS {
                if let Some(value) = client_headers.get(*name) {
                    headers.insert(HeaderName::from_static(name), value.clone());
                }
            }
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        match (&self.authorization, forwarded.client_authorization) {
            (Some(own), _) => {
                headers.insert(header::AUTHORIZATION, own.clone());
            }
            (None, Some(client)) => {
                headers.insert(header::AUTHORIZATION, client.clone());
            }
            (None, None) => {}
        }
        self.client
            .post(self.chat_url.clone())
            .headers(headers)
            .body(body)
    }
}
