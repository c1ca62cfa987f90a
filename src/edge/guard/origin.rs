//! Which web pages may call the gateway, and CORS for them.
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

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
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
}
