//! A string that never prints.

use std::fmt;

/// A key or token. `Debug` and `Display` print `*****`, so a secret cannot
/// reach a log line or an error message by accident; [`Secret::expose`] is the
/// one way to read it, used only where it is sent upstream or compared.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*****")
    }
}

/// `key-` and the first 8 hex digits of the key's SHA-256: enough to tell
/// callers apart in a log, useless for recovering the key.
pub fn fingerprint(key: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("key-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..8])
}

/// Enough of a secret to tell keys apart, never the whole: the first 3 and
/// last 4 characters of 12 or more (what providers' dashboards show), else
/// nothing.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        "(empty)".to_string()
    } else if chars.len() >= 12 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        "****".to_string()
    }
}

/// The last 4 characters of a secret of 12 or more, after `…` (what the
/// dashboard shows of provider keys), else `****`.
pub fn mask_tail(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 12 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("…{tail}")
    } else {
        "****".to_string()
    }
}

/// A URL as it may be shown (errors, logs, `/health`): without its
/// userinfo (`user:password@`) and with query values blanked, since either
/// may hold a credential (`?key=…`). Works on text that is not a valid URL
/// too, which is when it is most likely to be printed.
pub fn displayable_url(text: &str) -> String {
    let text = text.trim();
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = query.split_once('#').unwrap_or((query, ""));
            let blanked: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=…"),
                    None => pair.to_string(),
                })
                .collect();
            let fragment = if fragment.is_empty() {
                String::new()
            } else {
                format!("#{fragment}")
            };
            format!("{path}?{}{fragment}", blanked.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::{Secret, displayable_url};

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            displayable_url("http://user:PASS@host/v1?x=1"),
            "http://host/v1?x=…"
        );
        assert_eq!(
            displayable_url("https://a:b@c@llm.example.com:8443"),
            "https://llm.example.com:8443"
        );
        assert_eq!(displayable_url("not a url:PASS@x"), "x");
        assert_eq!(
            displayable_url("https://api.example.com/v1"),
            "https://api.example.com/v1"
        );
        assert_eq!(
            displayable_url("https://h/v1?key=SECRET&alt=sse#frag"),
            "https://h/v1?key=…&alt=…#frag"
        );
    }

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("sk-live-123");
        assert_eq!(format!("{secret} {secret:?}"), "***** *****");
        assert_eq!(secret.expose(), "sk-live-123");
    }
}
