//! The Gemini adapter: Google's native `generateContent` API (the
//! Generative Language API, `https://generativelanguage.googleapis.com/v1beta`).
//!
//! No client speaks Gemini here, so every request arrives in the exchange's
//! form (OpenAI chat) and is rewritten as a `GenerateContentRequest`
//! ([`generate_request`]), its tool schemas cut down to the OpenAPI subset
//! Gemini accepts ([`clean_schema`]). It goes to
//! `{base}/models/{model}:generateContent`, or for a stream to
//! `{base}/models/{model}:streamGenerateContent?alt=sse`, with the key in
//! `x-goog-api-key`. Answers come back in [`Wire::Gemini`], decoded by
//! [`crate::wire::gemini`] when served.

mod config;
mod request;
mod schema;

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

pub use request::generate_request;
pub use schema::{REMOVED_SCHEMA_KEYS, clean_schema};

use super::{Adapter, Outbound, Prepared, bare_key, joined, unsupported};
use crate::config::ProviderKind;
use crate::error::AppError;
use crate::wire::Wire;

/// The header Gemini reads its key from.
const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-goog-api-key");

/// A Gemini provider: its base URL (ending in the API version).
#[derive(Debug)]
pub struct Gemini {
    base_url: reqwest::Url,
}

impl Gemini {
    /// The adapter for a provider at `base_url`, such as
    /// `https://generativelanguage.googleapis.com/v1beta`.
    pub fn new(base_url: &reqwest::Url) -> Self {
        Self {
            base_url: base_url.clone(),
        }
    }

    /// Where a request for `model` goes.
    fn url(&self, model: &str, stream: bool) -> Result<reqwest::Url, AppError> {
        check_model(model)?;
        let method = match stream {
            true => "streamGenerateContent",
            false => "generateContent",
        };
        let mut url = joined(&self.base_url, &format!("models/{model}:{method}"));
        if stream {
            url.set_query(Some("alt=sse"));
        }
        Ok(url)
    }
}

/// Refuses a model name that would change the URL's meaning: it goes into
/// the path as it is, so no separators (nor `%`, which could spell one),
/// traversal or whitespace.
fn check_model(model: &str) -> Result<(), AppError> {
    let bad = model.is_empty()
        || model.contains(['/', '?', '#', '%', '\\'])
        || model.contains("..")
        || model.chars().any(|c| c.is_whitespace() || c.is_control());
    match bad {
        true => Err(AppError::InvalidField {
            param: "model",
            message: format!(
                "`{}` is not a Gemini model name (no `/`, `?`, `#`, `..` or whitespace)",
                model.escape_default()
            ),
        }),
        false => Ok(()),
    }
}

impl Adapter for Gemini {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    fn speaks(&self, _wire: Wire) -> bool {
        false
    }

    fn prepare(&self, outbound: Outbound) -> Result<Prepared, AppError> {
        if outbound.wire != Wire::OpenAiChat {
            return Err(unsupported(ProviderKind::Gemini, outbound.wire));
        }
        let url = self.url(&outbound.model, outbound.stream)?;
        let chat: Value = serde_json::from_slice(&outbound.body)
            .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))?;
        let request = generate_request(&chat)?;
        let body = serde_json::to_vec(&request)
            .map_err(|e| AppError::InvalidJson(format!("request body cannot be written: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(Prepared {
            url,
            body: Bytes::from(body),
            headers,
            answers: Wire::Gemini,
        })
    }

    /// No client header means anything to Gemini.
    fn forwards(&self, _name: &HeaderName) -> bool {
        false
    }

    fn authorize(&self, headers: &mut HeaderMap, authorization: HeaderValue) {
        headers.remove(header::AUTHORIZATION);
        if let Some(key) = bare_key(&authorization) {
            headers.insert(API_KEY_HEADER, key);
        }
    }
}

#[cfg(test)]
mod tests;
