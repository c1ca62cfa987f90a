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

pub use crate::caller::Caller;
pub use crate::config::secret::fingerprint;

use crate::config::AccessKey;
use crate::config::live::Current;
use crate::error::AppError;
use crate::notes::NoteSlot;

/// The configured access keys, kept only as digests, each with its id and
/// whether it is an admin key.
#[derive(Debug, Clone, Default)]
pub struct AccessKeys {
    keys: Vec<([u8; 32], String, bool)>,
}

impl AccessKeys {
    /// Digests and ids of the configured keys.
    pub fn new(keys: &[AccessKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| (digest(k.secret.expose()), k.id(), k.admin))
                .collect(),
        }
    }

    /// Whether clients must present a key.
    pub fn required(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The id of the key `presented` is, if it is one. Looks at every key
    /// whatever the outcome, comparing digests in constant time.
    pub fn identify(&self, presented: &str) -> Option<&str> {
        self.identify_with_role(presented).map(|(id, _)| id)
    }

    /// [`AccessKeys::identify`], with whether the key is an admin key.
    pub fn identify_with_role(&self, presented: &str) -> Option<(&str, bool)> {
        let candidate = digest(presented);
        let mut found = None;
        for (key, id, admin) in &self.keys {
            let matches: bool = key.ct_eq(&candidate).into();
            if matches && found.is_none() {
                found = Some((id.as_str(), *admin));
            }
        }
        found
    }
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
        return match presented.map(|key| keys.identify_with_role(key)) {
            Some(Some((id, admin))) => Ok(Caller {
                key_id: Some(id.to_string()),
                authenticated: true,
                admin,
                passthrough_authorization: None,
            }),
            Some(None) => Err(AppError::Unauthorized(
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
        authenticated: false,
        admin: false,
        passthrough_authorization,
    })
}

/// Middleware for the API routes: refuses a request without a valid key
/// (when keys are required) and attaches its [`Caller`].
pub async fn require_access_key(
    State(keys): State<Current<AccessKeys>>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&keys.now(), request.headers()) {
        Ok(caller) => {
            if let Some(slot) = request.extensions().get::<NoteSlot>() {
                slot.update(|notes| notes.key_id = caller.key_id.clone());
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
    fn every_key_is_compared_as_a_digest_wherever_it_sits() {
        let keys = keys(&[
            (Some("first"), "key-one"),
            (None, "key-two"),
            (Some("last"), "a-much-longer-third-key-0123456789"),
        ]);
        // Only fixed-size digests are kept: the keys are not in memory as
        // text, and keys of any length compare in the same time.
        let kept = format!("{keys:?}");
        assert!(!kept.contains("key-one") && !kept.contains("key-two"));
        assert_eq!(keys.identify("key-one"), Some("first"));
        assert_eq!(
            keys.identify("key-two"),
            Some(fingerprint("key-two").as_str())
        );
        assert_eq!(
            keys.identify("a-much-longer-third-key-0123456789"),
            Some("last")
        );
        for near_miss in [
            "key-on",
            "key-one ",
            "key-onf",
            "a-much-longer-third-key-012345678",
        ] {
            assert_eq!(keys.identify(near_miss), None, "{near_miss}");
        }
    }

    fn keys(list: &[(Option<&str>, &str)]) -> AccessKeys {
        let keys: Vec<AccessKey> = list
            .iter()
            .map(|(name, key)| AccessKey {
                name: name.map(str::to_string),
                secret: crate::config::Secret::new(*key),
                admin: false,
            })
            .collect();
        AccessKeys::new(&keys)
    }

    #[test]
    fn accepts_configured_keys_from_each_header() {
        let keys = keys(&[(None, "alpha"), (Some("ci"), "beta")]);
        for h in [
            headers(&[("authorization", "Bearer beta")]),
            headers(&[("x-api-key", "alpha")]),
            headers(&[("api-key", "beta")]),
        ] {
            let caller = authenticate(&keys, &h).unwrap();
            let id = caller.key_id.unwrap();
            assert!(id == "ci" || id == fingerprint("alpha"), "{id}");
            assert!(caller.authenticated);
            assert!(caller.passthrough_authorization.is_none());
        }
    }

    #[test]
    fn rejects_missing_wrong_and_partial_keys() {
        let keys = keys(&[(None, "alpha")]);
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
