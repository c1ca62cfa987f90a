//! Which `Host` names the gateway answers to (DNS rebinding).

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::{HeaderMap, Uri, header};

use crate::error::AppError;

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

/// Whether `authority` (`host[:port]`) names this machine's loopback:
/// `localhost`, a loopback address or `[::1]`.
pub fn names_loopback(authority: &str) -> bool {
    let authority = authority.trim().to_ascii_lowercase();
    let (host, _) = split_host_port(&authority);
    is_loopback_name(host.strip_suffix('.').unwrap_or(host))
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
    use axum::http::HeaderValue;

    use super::*;

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
