//! Requests from web pages: which origins may call the gateway, CORS for
//! them, and which `Host` names it answers to.
//!
//! A browser adds `Origin` to every cross-site request, and a page can send
//! a "simple" POST without any preflight. So the check is enforced here, on
//! the server: a request whose `Origin` is not allowed gets 403 before it can
//! reach (and spend money at) a provider. Clients that are not browsers (the
//! SDKs, curl) send no `Origin` and are not affected.
//!
//! Allowed: desktop-app and local origins (`app://`, `file://`, `tauri://`,
//! `vscode-webview://`, `capacitor://`, and
//! `http(s)://localhost|127.0.0.1|[::1]` on any port), the config file's
//! `cors_origins`, and, once access keys are required, any origin (the key
//! is then what protects the gateway).
//!
//! `Origin: null` is not among them: a sandboxed iframe, a `data:` page or
//! a page that was redirected across origins sends it, so in open mode it
//! could come from any web page at all. It is allowed only when listed in
//! `cors_origins` (some desktop apps' webviews send it) or with access
//! keys. Electron apps that load their window from a file, Cherry Studio
//! among them, send `Origin: file://`, which stays allowed.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::error::AppError;

/// Schemes of desktop apps (Electron, Tauri, VS Code webviews, Capacitor).
const APP_SCHEMES: &[&str] = &["app", "file", "tauri", "vscode-webview", "capacitor"];
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Headers a page may read from a response.
const EXPOSED: &[&str] = &[
    "x-request-id",
    "x-llm-bridge-provider",
    "x-llm-bridge-model",
    "x-upstream-request-id",
    "x-cache",
    "retry-after",
];

/// Who may call from a browser.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    any: bool,
    extra: Vec<String>,
}

impl OriginPolicy {
    /// `any` when access keys are required; `extra` from `cors_origins`.
    pub fn new(any: bool, extra: &[String]) -> Self {
        Self {
            any,
            extra: extra
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a page from `origin` may call the gateway.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        if self.any {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        if self.extra.contains(&origin) {
            return true;
        }
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        if APP_SCHEMES.contains(&scheme) {
            return true;
        }
        let host = match rest.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => rest,
        };
        matches!(scheme, "http" | "https") && LOCAL_HOSTS.contains(&host)
    }
}

/// The CORS layer answering preflights and adding headers for origins
/// `allows` accepts (asked per request, so a reload applies at once).
pub fn cors_layer(allows: impl Fn(&HeaderValue) -> bool + Send + Sync + 'static) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| allows(origin)))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(
            EXPOSED
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .max_age(std::time::Duration::from_secs(600))
}

impl OriginPolicy {
    /// 403 for a request from a web page whose origin is not allowed; run
    /// before anything else looks at the request.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AppError> {
        match headers.get(header::ORIGIN) {
            Some(origin) if !self.allows(origin) => {
                Err(AppError::ForbiddenOrigin(refusal(origin).into()))
            }
            _ => Ok(()),
        }
    }
}

/// Why a page was refused, and how to allow it.
fn refusal(origin: &HeaderValue) -> &'static str {
    if origin.as_bytes().eq_ignore_ascii_case(b"null") {
        "requests with `Origin: null` (a sandboxed frame, a data: page, or an app webview) \
         are not allowed without access keys, since any web page can send them: set \
         ACCESS_API_KEYS (a request with a valid key is then allowed), or add \"null\" to \
         `cors_origins` in the config file if an app you trust sends it"
    } else {
        "requests from this web page's origin are not allowed: add it to `cors_origins` \
         in the config file, or set ACCESS_API_KEYS"
    }
}

/// Which `Host` names the gateway answers to. A DNS-rebinding page makes a
/// name it controls (`evil.example`) resolve to 127.0.0.1; its requests then
/// reach the gateway as same-origin ones, so no `Origin` check sees them —
/// but they still carry `Host: evil.example`. In open mode (loopback only)
/// every request must name a loopback host (`localhost`, `127.0.0.1` or any
/// loopback address, `[::1]`, with or without a port) or one of
/// `[server] allowed_hosts`. With access keys the key protects the gateway,
/// and the check applies only when `allowed_hosts` is given (loopback names
/// are still accepted then). A request without any host (HTTP/1.0) cannot
/// come from a browser and is let through.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    enforced: bool,
    allowed: Vec<String>,
}

impl HostPolicy {
    /// `keys_required`: access keys are set; `allowed`: `[server]
    /// allowed_hosts`, lower-case.
    pub fn new(keys_required: bool, allowed: &[String]) -> Self {
        Self {
            enforced: !keys_required || !allowed.is_empty(),
            allowed: allowed.to_vec(),
        }
    }

    /// 403 `host_not_allowed` for a request naming another host.
    pub fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), AppError> {
        if !self.enforced {
            return Ok(());
        }
        let named = match headers.get(header::HOST) {
            Some(value) => Some(value.to_str().unwrap_or("\u{fffd}")),
            None => uri.authority().map(|a| a.as_str()),
        };
        match named {
            Some(host) if !self.allows(host) => Err(AppError::ForbiddenHost(format!(
                "this gateway does not answer to the host `{}`: it accepts loopback names \
                 (localhost, 127.0.0.1, [::1]) and those in `[server] allowed_hosts` of the \
                 config file; add the name there if it is yours",
                host.chars().take(100).collect::<String>()
            ))),
            _ => Ok(()),
        }
    }

    fn allows(&self, authority: &str) -> bool {
        let authority = authority.trim().to_ascii_lowercase();
        let (host, port) = split_host_port(&authority);
        let host = host.strip_suffix('.').unwrap_or(host);
        is_loopback_name(host)
            || self
                .allowed
                .iter()
                .any(|entry| match split_host_port(entry) {
                    (name, Some(wanted)) => name == host && port == Some(wanted),
                    (name, None) => name == host,
                })
    }
}

/// `host` and `port` of `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.split_once(']') {
            Some((host, rest)) => (&authority[..host.len() + 1], rest.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    }
}

fn is_loopback_name(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(policy: &OriginPolicy, origin: &str) -> bool {
        policy.allows(&HeaderValue::from_str(origin).unwrap())
    }

    #[test]
    fn open_mode_allows_apps_and_local_pages_only() {
        let policy = OriginPolicy::new(false, &["https://ui.example.com/".to_string()]);
        for ok in [
            "app://cherry",
            "file://",
            "http://localhost:5173",
            "http://127.0.0.1",
            "https://[::1]:8443",
            "https://ui.example.com",
        ] {
            assert!(allows(&policy, ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "https://ui.example.com.evil",
            "garbage",
            "null",
            "NULL",
        ] {
            assert!(!allows(&policy, bad), "{bad}");
        }
        assert!(allows(
            &OriginPolicy::new(true, &[]),
            "https://evil.example"
        ));
        assert!(allows(&OriginPolicy::new(true, &[]), "null"));
        assert!(allows(
            &OriginPolicy::new(false, &["null".to_string()]),
            "null"
        ));
    }

    #[test]
    fn open_mode_answers_only_to_loopback_and_allowed_hosts() {
        let policy = HostPolicy::new(false, &["llm.internal".into(), "10.0.0.2:6688".into()]);
        for ok in [
            "127.0.0.1",
            "127.0.0.1:6688",
            "127.1.2.3:80",
            "localhost",
            "LOCALHOST:6688",
            "localhost.:6688",
            "[::1]",
            "[::1]:6688",
            "llm.internal",
            "llm.internal:443",
            "10.0.0.2:6688",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:6688",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.2",
            "10.0.0.2:80",
            "[::2]:6688",
            "",
        ] {
            assert!(!policy.allows(bad), "{bad}");
        }
        let keyed = HostPolicy::new(true, &[]);
        let headers: HeaderMap = [(header::HOST, HeaderValue::from_static("evil.example"))]
            .into_iter()
            .collect();
        assert!(keyed.check(&headers, &Uri::from_static("/")).is_ok());
        assert!(
            HostPolicy::new(true, &["llm.internal".into()])
                .check(&headers, &Uri::from_static("/"))
                .is_err()
        );
    }
}
