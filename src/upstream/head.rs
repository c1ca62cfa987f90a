//! What the client gets of an upstream response before its body: the
//! status, an allow-list of headers (hop-by-hop headers, `content-length`,
//! cookies and server details stay behind) and how the body is encoded.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::headers::{PROVIDER, UPSTREAM_REQUEST_ID};
use crate::stream::relay::mark_event_stream;
use crate::wire::{BodyKind, Wire, body_kind};

/// Upstream response headers passed to the client. Everything else
/// (hop-by-hop, `content-length`, cookies, server details) stays behind.
const RELAYED_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "retry-after",
    "location",
    "openai-processing-ms",
    "openai-version",
    "openai-organization",
];
/// Upstream `x-ratelimit-*` headers tell clients when to back off.
const RATE_LIMIT_PREFIX: &str = "x-ratelimit-";

/// The head of an upstream answer, as the client gets it.
#[derive(Debug, Clone)]
pub struct AnswerHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// `None` for bodies that are neither JSON nor SSE (never cached).
    pub kind: Option<BodyKind>,
    /// The format of the body (the answering provider's).
    pub wire: Wire,
    /// The upstream model that answered.
    pub model: String,
}

impl AnswerHead {
    /// The head of an upstream response.
    pub fn of(upstream: &reqwest::Response, provider: &str, model: &str, wire: Wire) -> Self {
        let mut headers = HeaderMap::with_capacity(8);
        for (name, value) in upstream.headers() {
            if RELAYED_HEADERS.contains(&name.as_str())
                || name.as_str().starts_with(RATE_LIMIT_PREFIX)
            {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(id) = upstream.headers().get("x-request-id") {
            headers.insert(UPSTREAM_REQUEST_ID, id.clone());
        }
        if let Ok(value) = HeaderValue::from_str(provider) {
            headers.insert(PROVIDER, value);
        }
        let kind = body_kind(upstream.headers().get(header::CONTENT_TYPE));
        if kind == Some(BodyKind::Sse) {
            mark_event_stream(&mut headers);
        }
        Self {
            status: upstream.status(),
            headers,
            kind,
            wire,
            model: model.to_string(),
        }
    }

    /// Whether the body is an event stream.
    pub fn is_sse(&self) -> bool {
        self.kind == Some(BodyKind::Sse)
    }

    /// The response with `body`.
    pub fn into_response(self, body: Body) -> Response {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}
