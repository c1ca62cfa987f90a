//! Per-request cache control: the client's `Cache-Control` header.

use axum::http::HeaderMap;
use axum::http::header::CACHE_CONTROL;

/// The directives llm-bridge honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// Skip the lookup; call upstream and store the fresh answer.
    pub no_cache: bool,
    /// Do not store the answer.
    pub no_store: bool,
    /// Only use an entry younger than this many seconds.
    pub max_age: Option<u64>,
}

impl CacheControl {
    /// Reads every `Cache-Control` header; unknown directives are ignored.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut control = Self::default();
        let directives = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|d| d.trim().to_ascii_lowercase());
        for directive in directives {
            match directive.split_once('=') {
                Some(("max-age", secs)) => {
                    if let Ok(secs) = secs.trim().trim_matches('"').parse() {
                        control.max_age = Some(secs);
                    }
                }
                _ if directive == "no-cache" => control.no_cache = true,
                _ if directive == "no-store" => control.no_store = true,
                _ => {}
            }
        }
        control
    }

    /// Whether the request changes what the cache would normally do.
    pub fn bypasses(&self) -> bool {
        self.no_cache || self.no_store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> CacheControl {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(CACHE_CONTROL, v.parse().unwrap());
        }
        CacheControl::from_headers(&headers)
    }

    #[test]
    fn directives() {
        assert_eq!(parse(&[]), CacheControl::default());
        assert!(parse(&["No-Cache"]).no_cache);
        let both = parse(&["no-store, max-age=60"]);
        assert!(both.no_store && both.max_age == Some(60));
        assert_eq!(parse(&["max-age=abc", "private"]), CacheControl::default());
        assert_eq!(parse(&["max-age=0"]).max_age, Some(0));
    }
}
