//! Access keys: who may use the gateway, and which key a request came with.
//!
//! With `ACCESS_API_KEYS` set, every `/v1` request must present one of them
//! as `Authorization: Bearer …`, `x-api-key` or `api-key`. Keys are compared
//! as SHA-256 digests with a constant-time equality over every configured
//! key, so neither the position of the first wrong byte nor which key matched
//! shows in the response time. The client's key is never forwarded upstream.
//!
//! With no access keys (one local user), the client's `Authorization` header
//! is kept so it can be passed to a provider that has no key of its own, the
//! way LLM_cache.py forwarded the user's provider key.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::config::Secret;
use crate::error::AppError;
use crate::request_log::LogSlot;

/// The configured access keys, kept only as digests.
#[derive(Debug, Clone, Default)]
pub struct AccessKeys {
    digests: Vec<[u8; 32]>,
}

impl AccessKeys {
    /// Digests of the configured keys.
    pub fn new(keys: &[Secret]) -> Self {
        Self {
            digests: keys.iter().map(|k| digest(k.expose())).collect(),
        }
    }

    /// Whether clients must present a key.
    pub fn required(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys. Looks at every key whatever
    /// the outcome, and compares digests in constant time.
    pub fn accepts(&self, presented: &str) -> bool {
        let candidate = digest(presented);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, key| {
                found | key.ct_eq(&candidate)
            })
            .into()
    }
}

/// Who sent a request, as far as the rest of the request path needs to know.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Short fingerprint of the key the client presented (access key or its
    /// own provider key), for logs. Never the key.
    pub key_id: Option<String>,
    /// The client's `Authorization`, kept only in pass-through mode.
    pub passthrough_authorization: Option<HeaderValue>,
}

/// `key-` and the first 8 hex digits of the key's SHA-256: enough to tell
/// callers apart in a log, useless for recovering the key.
pub fn fingerprint(key: &str) -> String {
    format!("key-{}", &hex::encode(digest(key))[..8])
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The key a client presented, from the first of the accepted headers.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        return (!token.is_empty()).then_some(token);
    }
    ["x-api-key", "api-key"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Checks the access key (when required) and attaches a [`Caller`].
pub fn authenticate(keys: &AccessKeys, headers: &HeaderMap) -> Result<Caller, AppError> {
    let presented = presented_key(headers);
    if keys.required() {
        return match presented {
            Some(key) if keys.accepts(key) => Ok(Caller {
                key_id: Some(fingerprint(key)),
                passthrough_authorization: None,
            }),
            Some(_) => Err(AppError::Unauthorized(
                "invalid access key: send one of the keys in ACCESS_API_KEYS as \
                 `Authorization: Bearer KEY`"
                    .into(),
            )),
            None => Err(AppError::Unauthorized(
                "an access key is required: send `Authorization: Bearer KEY` \
                 (or `x-api-key: KEY`) with one of the keys in ACCESS_API_KEYS"
                    .into(),
            )),
        };
    }
    let passthrough_authorization = presented.and_then(|key| {
        let mut value = HeaderValue::from_str(&format!("Bearer {key}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    });
    Ok(Caller {
        key_id: presented.map(fingerprint),
        passthrough_authorization,
    })
}

/// Middleware for the `/v1` routes.
pub async fn require_access_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state.access_keys, request.headers()) {
        Ok(caller) => {
            if let Some(slot) = request.extensions().get::<LogSlot>() {
                slot.update(|entry| entry.key_id = caller.key_id.clone());
            }
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (axum::http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn accepts_configured_keys_from_each_header() {
        let keys = AccessKeys::new(&[Secret::new("alpha"), Secret::new("beta")]);
        for h in [
            headers(&[("authorization", "Bearer beta")]),
            headers(&[("x-api-key", "alpha")]),
            headers(&[("api-key", "beta")]),
        ] {
            let caller = authenticate(&keys, &h).unwrap();
            assert!(caller.key_id.unwrap().starts_with("key-"));
            assert!(caller.passthrough_authorization.is_none());
        }
    }

    #[test]
    fn rejects_missing_wrong_and_partial_keys() {
        let keys = AccessKeys::new(&[Secret::new("alpha")]);
        for h in [
            headers(&[]),
            headers(&[("authorization", "Bearer alph")]),
            headers(&[("authorization", "Bearer alphaa")]),
            headers(&[("authorization", "Bearer ")]),
            headers(&[("x-api-key", "ALPHA")]),
        ] {
            let error = authenticate(&keys, &h).unwrap_err();
            assert_eq!(error.code(), "invalid_api_key");
        }
    }

    #[test]
    fn open_mode_keeps_the_client_key_for_passthrough() {
        let caller =
            authenticate(&AccessKeys::default(), &headers(&[("x-api-key", "sk-own")])).unwrap();
        assert_eq!(
            caller.passthrough_authorization.unwrap().to_str().unwrap(),
            "Bearer sk-own"
        );
        assert_eq!(caller.key_id.unwrap(), fingerprint("sk-own"));
    }
}
