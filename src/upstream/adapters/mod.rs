//! Adapters: translation at the upstream edge. An adapter knows one
//! provider API: where a request goes, how the key is sent, how the
//! request body is written in that API's form, and (its decode side) in
//! which [`Wire`] its answers reach the pipeline. Sending, retrying,
//! timing and relaying are the same for every adapter
//! ([`crate::upstream`]).
//!
//! Adding an API is a new module here implementing [`Adapter`], a
//! [`ProviderKind`] for it, and its arm in [`for_provider`].

mod openai_compat;

use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

pub use openai_compat::OpenAiCompat;

use crate::config::{ProviderConfig, ProviderKind};
use crate::wire::Wire;

/// What one upstream call carries, before the adapter puts it in its API's
/// form.
#[derive(Debug)]
pub struct Call {
    /// The request in the exchange's form (OpenAI chat), model rewritten.
    pub body: Bytes,
    /// `Bearer …`: the provider's own key, or a client's passed through.
    pub authorization: Option<HeaderValue>,
    /// Forwarded client headers and the provider's configured ones.
    pub headers: HeaderMap,
}

/// One provider API: where its requests go, how the key is sent, and the
/// wire its answers come in.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// Which API it speaks.
    fn kind(&self) -> ProviderKind;

    /// The format of the answers it hands on.
    fn wire(&self) -> Wire;

    /// The upstream request for `call`, on the provider's pooled `client`.
    fn request(&self, client: &reqwest::Client, call: Call) -> reqwest::RequestBuilder;
}

/// The adapter a provider's configuration asks for.
pub fn for_provider(config: &ProviderConfig) -> Box<dyn Adapter> {
    match config.kind {
        // The native adapters come with their wires.
        ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Gemini => {
            Box::new(OpenAiCompat::new(&config.base_url))
        }
    }
}
