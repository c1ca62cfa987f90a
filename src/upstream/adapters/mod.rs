//! Adapters: translation at the upstream edge. An adapter knows one
//! provider API: which request formats it takes as they are, how a request
//! in the exchange's form (OpenAI chat) is written in its own, where the
//! request goes, how the key is sent, and in which [`Wire`] its answers
//! come back. Sending, retrying, timing and relaying are the same for every
//! adapter ([`crate::upstream`]); decoding answers is the wire's
//! ([`crate::wire`]), done when they are served.
//!
//! A request is prepared once per model of its plan ([`Adapter::prepare`]),
//! before the first attempt, so a retry re-sends the same bytes and a body
//! the API cannot take is refused before anything is sent.
//!
//! Adding an API is a new module here implementing [`Adapter`], a
//! [`ProviderKind`] for it, and its arm in [`for_provider`].

mod anthropic;
mod gemini;
mod openai_compat;

use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub use anthropic::Anthropic;
pub use gemini::{Gemini, REMOVED_SCHEMA_KEYS, clean_schema, generate_request};
pub use openai_compat::OpenAiCompat;

use crate::config::{ProviderConfig, ProviderKind};
use crate::error::AppError;
use crate::wire::Wire;

/// A request body on its way to an adapter, and what it is.
#[derive(Debug)]
pub struct Outbound {
    /// The API the body is written for: the client's own, when the adapter
    /// speaks it ([`Adapter::speaks`]), else the exchange's (OpenAI chat).
    pub wire: Wire,
    /// The body, `model` already the upstream's.
    pub body: Bytes,
    /// The upstream model name.
    pub model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Whether a dialect translated the body into the exchange's form (so
    /// it may carry llm-bridge's own fields, for adapters that use them).
    pub translated: bool,
}

/// A request in its API's form, ready to send (and to send again on a
/// retry).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub url: reqwest::Url,
    pub body: Bytes,
    /// Headers the API needs (its version header, say); the client's
    /// forwarded ones and the provider's configured ones go on top.
    pub headers: HeaderMap,
    /// The format of the answers to it.
    pub answers: Wire,
}

/// One provider API.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// Which API it speaks.
    fn kind(&self) -> ProviderKind;

    /// Whether a request written for `wire` goes as it is; anything else
    /// reaches [`Adapter::prepare`] in the exchange's form.
    fn speaks(&self, wire: Wire) -> bool;

    /// The request for `outbound`, or why this API cannot take it.
    fn prepare(&self, outbound: Outbound) -> Result<Prepared, AppError>;

    /// Whether a forwarded client header means something to this API.
    fn forwards(&self, name: &HeaderName) -> bool;

    /// Puts the key in the API's own header; `authorization` is
    /// `Bearer KEY` (the provider's key, or a client's passed through).
    fn authorize(&self, headers: &mut HeaderMap, authorization: HeaderValue);
}

/// The adapter a provider's configuration asks for.
pub fn for_provider(config: &ProviderConfig) -> Box<dyn Adapter> {
    match config.kind {
        ProviderKind::OpenAi => Box::new(OpenAiCompat::new(&config.base_url, config.responses_api)),
        ProviderKind::Anthropic => {
            Box::new(Anthropic::new(&config.base_url, config.default_max_tokens))
        }
        ProviderKind::Gemini => Box::new(Gemini::new(&config.base_url)),
    }
}

/// `base_url` with `path` appended to its path.
pub fn joined(base_url: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base_url.clone();
    let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

/// The key of a `Bearer KEY` value, as a header value of its own (still
/// marked sensitive).
pub fn bare_key(authorization: &HeaderValue) -> Option<HeaderValue> {
    let text = authorization.to_str().ok()?;
    let key = text.strip_prefix("Bearer ").unwrap_or(text).trim();
    let mut value = HeaderValue::from_str(key).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The refusal of a request this provider's API has no endpoint for.
pub fn unsupported(kind: ProviderKind, wire: Wire) -> AppError {
    AppError::Unsupported(format!(
        "this model's provider speaks the {} API, which has no counterpart of {}; route it \
         to an OpenAI-compatible provider",
        kind.name(),
        wire.endpoint_name()
    ))
}
