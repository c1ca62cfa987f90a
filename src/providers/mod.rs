//! Providers: the upstreams a request can go to, behind one [`Provider`]
//! trait, and the [`Registry`] that turns a model name into a provider and an
//! upstream model name (plus its fallbacks).
//!
//! A provider knows how to build its upstream request (URL, auth, headers),
//! which of its keys to use, its timeouts, retry policy and concurrency
//! gate; sending, retrying and relaying are shared by all providers
//! ([`crate::upstream`], [`crate::proxy`]).

mod gate;
mod keys;
mod openai;
mod registry;

use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::{RetryPolicy, Timeouts};

pub use gate::{Gate, QueueFull, Slot};
pub use keys::{KeyRing, PickedKey};
pub use openai::OpenAiCompatible;
pub use registry::{Registry, Route};

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

/// An upstream that speaks (or is adapted to) OpenAI's chat completions API.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The name used in `provider/model`.
    fn name(&self) -> &str;

    /// Whether a key is configured for it.
    fn has_key(&self) -> bool;

    /// Model names (upstream form) for `/v1/models`.
    fn models(&self) -> &[String];

    /// Whether `/v1/models` should list it: it has a key, or the config file
    /// declares it (a local server may need none).
    fn listed(&self) -> bool;

    /// Its upstream timeouts.
    fn timeouts(&self) -> Timeouts;

    /// When failed calls are tried again.
    fn retry_policy(&self) -> RetryPolicy;

    /// Whether a stream may be asked for usage it was not asked for by the
    /// client (`stream_options.include_usage`).
    fn stream_usage(&self) -> bool;

    /// Its cap on concurrent requests, if one is set.
    fn gate(&self) -> Option<&Gate>;

    /// Base URL with credentials removed, safe to show on `/health`.
    fn public_base_url(&self) -> String;

    /// The upstream request for a chat completion. `body` is the client's
    /// body with the model already rewritten. Each call takes the next key.
    fn chat_request(&self, body: Bytes, forwarded: &Forwarded) -> UpstreamRequest;

    /// Key `key` was refused (401) or throttled (429): pass it over for a
    /// while. Returns whether another key is available to try at once.
    fn key_failed(&self, key: usize) -> bool;
}
