//! Providers: the upstreams a request can go to, behind one [`Provider`]
//! trait, and the [`Registry`] that turns a model name into a provider and an
//! upstream model name.
//!
//! A provider only knows how to build its upstream request (URL, auth,
//! headers); sending it and relaying the answer are shared by all providers
//! in [`crate::proxy`].

mod openai;
mod registry;

use axum::body::Bytes;
use reqwest::header::HeaderMap;

pub use openai::OpenAiCompatible;
pub use registry::{Registry, Route};

/// What a client sent that may be used for the upstream request.
#[derive(Debug, Default)]
pub struct Forwarded<'a> {
    /// The client's own provider key, passed through only when the gateway
    /// has no access keys and the provider has no key of its own.
    pub client_authorization: Option<&'a reqwest::header::HeaderValue>,
    /// The client's request headers; providers forward an allow-list of them.
    pub headers: Option<&'a HeaderMap>,
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

    /// Longest silence allowed from this upstream.
    fn read_timeout(&self) -> std::time::Duration;

    /// Base URL with credentials removed, safe to show on `/health`.
    fn public_base_url(&self) -> String;

    /// The upstream request for a chat completion. `body` is the client's
    /// body with the model already rewritten.
    fn chat_request(&self, body: Bytes, forwarded: Forwarded<'_>) -> reqwest::RequestBuilder;
}
