//! Who may use the dashboard's API (`/api/…`): checked on every call, not
//! only when the page loads, since the API is what acts.
//!
//! - With access keys set, every call needs one (`Authorization: Bearer`,
//!   `x-api-key`), and actions that change the gateway (keys, cache
//!   deletions, reloads) need a key marked admin in `ACCESS_API_KEYS`
//!   (`name/admin:key`); others get 403 `admin_required`.
//! - In open mode (no access keys, the gateway only on loopback) the caller
//!   is the machine's own user, who may do everything, so the API answers
//!   only a connection from a loopback address, naming a loopback `Host`,
//!   with no `Origin` or a loopback page's: a web page elsewhere (or one
//!   that rebinds its DNS name to 127.0.0.1) gets 403.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::caller::{Caller, PeerAddr};
use crate::config::live::Current;
use crate::edge::auth::{AccessKeys, authenticate};
use crate::edge::guard::host::names_loopback;
use crate::error::AppError;

/// Middleware for `/api/…`: refuses a caller the rules above refuse, and
/// attaches the [`Caller`] (with `admin` set for the local user of open
/// mode).
pub async fn require_dashboard_access(
    State(keys): State<Current<AccessKeys>>,
    mut request: Request,
    next: Next,
) -> Response {
    let keys = keys.now();
    let caller = if keys.required() {
        authenticate(&keys, request.headers())
    } else {
        local_user(&request)
    };
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The open mode's caller, when the request comes from this machine.
fn local_user(request: &Request) -> Result<Caller, AppError> {
    let refuse = |what: &str| {
        AppError::LocalOnly(format!(
            "without access keys the dashboard answers only this machine ({what}); set \
             ACCESS_API_KEYS to use it from elsewhere"
        ))
    };
    let from_loopback = request
        .extensions()
        .get::<PeerAddr>()
        .is_some_and(|peer| peer.0.ip().is_loopback());
    if !from_loopback {
        return Err(refuse("this connection is not from a loopback address"));
    }
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(names_loopback) {
        return Err(refuse("the Host header must name localhost or 127.0.0.1"));
    }
    if !origin_is_local(headers) {
        return Err(refuse("requests from other web pages are refused"));
    }
    Ok(Caller {
        admin: true,
        ..Caller::default()
    })
}

/// No `Origin`, or an `http(s)` page on a loopback name.
fn origin_is_local(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let lower = origin.to_ascii_lowercase();
    match lower.split_once("://") {
        Some(("http" | "https", authority)) => names_loopback(authority),
        _ => false,
    }
}

/// 403 `admin_required` unless `caller` may change the gateway.
pub fn require_admin(caller: &Caller, action: &str) -> Result<(), AppError> {
    if caller.admin {
        return Ok(());
    }
    Err(AppError::AdminRequired(format!(
        "{action} needs an admin access key: mark one in ACCESS_API_KEYS as name/admin:key"
    )))
}

/// What `/api/session` tells the page about the server.
#[derive(Clone, Copy)]
pub struct SessionFacts {
    pub log_bodies: bool,
}

/// `GET /api/session`: who the key is, so the page can check a key at
/// login and show or hide admin actions.
pub async fn session(
    State(keys): State<Current<AccessKeys>>,
    State(facts): State<SessionFacts>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Json<Value> {
    Json(json!({
        "key_id": caller.key_id,
        "admin": caller.admin,
        "access_keys_required": keys.now().required(),
        "log_bodies": facts.log_bodies,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, host: &str, origin: Option<&str>) -> Request {
        let mut builder = Request::builder().uri("/api/session").header("host", host);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        let mut request = builder.body(axum::body::Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(PeerAddr(peer.parse().unwrap()));
        request
    }

    #[test]
    fn open_mode_admits_only_this_machine() {
        let local = "127.0.0.1:50000";
        assert!(
            local_user(&request(local, "127.0.0.1:6688", None))
                .unwrap()
                .admin
        );
        assert!(
            local_user(&request(
                "[::1]:5",
                "localhost:6688",
                Some("http://localhost:6688")
            ))
            .is_ok()
        );
        for (peer, host, origin) in [
            ("192.168.1.9:5000", "127.0.0.1:6688", None),
            (local, "evil.example", None),
            (local, "127.0.0.1:6688", Some("https://evil.example")),
            (local, "127.0.0.1:6688", Some("null")),
            (local, "127.0.0.1:6688", Some("app://cherry-studio")),
        ] {
            let refused = local_user(&request(peer, host, origin)).unwrap_err();
            assert_eq!(refused.code(), "local_only", "{peer} {host} {origin:?}");
        }
    }

    #[test]
    fn only_admins_may_act() {
        let reader = Caller::default();
        assert_eq!(
            require_admin(&reader, "x").unwrap_err().code(),
            "admin_required"
        );
        let admin = Caller {
            admin: true,
            ..Caller::default()
        };
        assert!(require_admin(&admin, "x").is_ok());
    }
}
