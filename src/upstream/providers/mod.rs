//! Providers: the upstreams a request can go to, and the [`Registry`] that
//! turns a model name into a provider and an upstream model (plus its
//! fallbacks).
//!
//! A [`Provider`] holds what every upstream has: its name, its keys (taken
//! in turn, [`keys`]), timeouts, retry policy, concurrency gate ([`gate`])
//! and one pooled HTTP client; the [`Adapter`] it was configured with
//! speaks its API.

mod client;
mod gate;
mod keys;
mod registry;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub use gate::{Gate, QueueFull, Slot};
pub use keys::{KeyRing, PickedKey};
pub use registry::{Registry, Route};

use super::adapters::{self, Adapter, Outbound, Prepared};
use crate::config::{ProviderConfig, ProviderKind, RetryPolicy, Timeouts};
use crate::error::AppError;
use crate::wire::Wire;

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
    // Anthropic's API version and beta features, for Anthropic upstreams.
    "anthropic-version",
    "anthropic-beta",
];

/// What a client sent that may be used for the upstream request. Owned,
/// because retries and fallbacks happen in a task that outlives the
/// client's request.
#[derive(Debug, Clone, Default)]
pub struct Forwarded {
    /// The client's own provider key, passed through only when the gateway
    /// has no access keys and the provider has no key of its own.
    pub client_authorization: Option<HeaderValue>,
    /// The allow-listed client headers.
    pub headers: HeaderMap,
}

impl Forwarded {
    /// The allow-listed part of the client's headers.
    pub fn from_client(headers: &HeaderMap, client_authorization: Option<HeaderValue>) -> Self {
        let mut kept = HeaderMap::new();
        for name in FORWARDED_HEADERS {
            if let Some(value) = headers.get(*name) {
                kept.insert(HeaderName::from_static(name), value.clone());
            }
        }
        Self {
            client_authorization,
            headers: kept,
        }
    }
}

/// One upstream request, and which key it carries.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub request: reqwest::RequestBuilder,
    /// Index of the provider's own key used, for [`Provider::key_failed`].
    pub key: Option<usize>,
}

/// One upstream: its name, keys, limits and client, and the adapter that
/// speaks its API.
#[derive(Debug)]
pub struct Provider {
    name: String,
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
    adapter: Box<dyn Adapter>,
}

impl Provider {
    /// Builds the provider, its HTTP client (one connection pool per
    /// provider, so a proxy or timeout setting applies only to it) and its
    /// adapter.
    pub fn new(config: &ProviderConfig) -> Result<Self, reqwest::Error> {
        let keys = KeyRing::new(&config.api_keys, config.key_cooldown);
        Ok(Self {
            name: config.name.clone(),
            public_base_url: client::public_base_url(&config.base_url),
            listed: !keys.is_empty() || config.declared,
            keys,
            extra_headers: config.headers.iter().cloned().collect(),
            models: config.models.clone(),
            timeouts: config.timeouts,
            retry: config.retry,
            gate: config.concurrency.map(Gate::new),
            stream_usage: config.stream_usage,
            client: client::build(config)?,
            adapter: adapters::for_provider(config),
        })
    }

    /// The name used in `provider/model`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a key is configured for it.
    pub fn has_key(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Its keys, masked ([`KeyRing::masked`]).
    pub fn masked_keys(&self) -> Vec<String> {
        self.keys.masked()
    }

    /// Model names (upstream form) for `/v1/models`.
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// Whether `/v1/models` should list it: it has a key, or the config file
    /// declares it (a local server may need none).
    pub fn listed(&self) -> bool {
        self.listed
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// When failed calls are tried again.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Whether a stream may be asked for usage it was not asked for by the
    /// client (`stream_options.include_usage`).
    pub fn stream_usage(&self) -> bool {
        self.stream_usage
    }

    /// Its cap on concurrent requests, if one is set.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// Base URL with credentials removed, safe to show on `/health`.
    pub fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    /// Which API it speaks.
    pub fn kind(&self) -> ProviderKind {
        self.adapter.kind()
    }

    /// Whether a request written for `wire` goes to it as it is.
    pub fn speaks(&self, wire: Wire) -> bool {
        self.adapter.speaks(wire)
    }

    /// The request in its API's form, or why its API cannot take it.
    pub fn prepare(&self, outbound: Outbound) -> Result<Prepared, AppError> {
        self.adapter.prepare(outbound)
    }

    /// The upstream request for a prepared one. Headers: the API's own,
    /// then the client's forwarded ones its API uses, then the provider's
    /// configured ones, then the key. Each call takes the next key; a
    /// provider without one sends the client's own when there is one.
    pub fn request(&self, prepared: &Prepared, forwarded: &Forwarded) -> UpstreamRequest {
        let mut headers = prepared.headers.clone();
        for (name, value) in &forwarded.headers {
            if self.adapter.forwards(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        let own = self.keys.pick();
        let authorization = match &own {
            Some(key) => Some(key.authorization.clone()),
            None => forwarded.client_authorization.clone(),
        };
        if let Some(authorization) = authorization {
            self.adapter.authorize(&mut headers, authorization);
        }
        let request = self
            .client
            .post(prepared.url.clone())
            .headers(headers)
            .body(prepared.body.clone());
        UpstreamRequest {
            request,
            key: own.map(|key| key.index),
        }
    }

    /// Key `key` was refused (401) or throttled (429): pass it over for a
    /// while. Returns whether another key is available to try at once.
    pub fn key_failed(&self, key: usize) -> bool {
        self.keys.cool_down(key)
    }
}
