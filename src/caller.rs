//! Who sent a request, as the edge established it and later stages need
//! it: for logs, limits and cache scopes, and for passing the client's own
//! key to a provider that has none.

use std::net::SocketAddr;

use axum::http::HeaderValue;

/// The address a request's connection came from, as the listener accepted
/// it (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The sender of one request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Who the key belongs to, for logs and cache scopes: the access key's
    /// name, or a short fingerprint of the key presented (access key or the
    /// client's own provider key). Never the key.
    pub key_id: Option<String>,
    /// Whether `key_id` names a configured access key.
    pub authenticated: bool,
    /// Whether that key is an admin key (`name/admin:key`). In open mode
    /// nobody is: the dashboard's own check admits the local user.
    pub admin: bool,
    /// The client's `Authorization`, kept only in pass-through mode.
    pub passthrough_authorization: Option<HeaderValue>,
}

impl Caller {
    /// The client's own key, when it is passed through to providers.
    pub fn passthrough_key(&self) -> Option<&str> {
        let value = self.passthrough_authorization.as_ref()?.to_str().ok()?;
        value.strip_prefix("Bearer ")
    }

    /// The id rate limits know the caller by: the key's id, else
    /// `anonymous`.
    pub fn limit_id(&self) -> &str {
        self.key_id.as_deref().unwrap_or("anonymous")
    }
}
