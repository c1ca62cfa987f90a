//! The one error type of the request path.
//!
//! Every error the gateway produces itself is rendered in the shape of the
//! API the client called ([`ErrorShape`]), with the matching HTTP status, so
//! SDKs raise their usual exception types: OpenAI's
//! `{"error":{"message","type","param","code"}}` for the OpenAI routes,
//! Anthropic's `{"type":"error","error":{"type","message"}}` for
//! `/v1/messages`. Upstream errors are never turned into an `AppError`: an
//! upstream that speaks the client's API has its status and body relayed
//! unchanged, any other has its error rewritten in the client's shape
//! ([`crate::wire::errors`]).
//!
//! Messages are written for the client and never contain keys or internal
//! details; the one place that logs details is the request log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything that can stop a request before or while it reaches an upstream.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The body is not a JSON object, or is not valid JSON at all.
    #[error("{0}")]
    InvalidJson(String),
    /// A required field is absent, or has the wrong type.
    #[error("{message}")]
    InvalidField {
        param: &'static str,
        message: String,
    },
    /// The model name matches no provider, alias, prefix or default.
    #[error("{0}")]
    ModelNotFound(String),
    /// No access key, or one that is not configured.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is larger than `max_body_bytes`.
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The request head is larger than `[server] max_header_bytes`.
    #[error("the request's headers are larger than the limit of {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// The body could not be read from the client.
    #[error("could not read the request body")]
    BodyUnreadable,
    /// The body did not arrive whole in time.
    #[error("the request body did not arrive within {secs} s")]
    BodyTimeout { secs: u64 },
    /// A web page from an origin that may not call the gateway.
    #[error("{0}")]
    ForbiddenOrigin(String),
    /// A request for a `Host` the gateway does not answer to (DNS
    /// rebinding protection).
    #[error("{0}")]
    ForbiddenHost(String),
    /// No route for this method and path.
    #[error("{0}")]
    NotFound(String),
    /// A known path with the wrong method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Offline cache mode and no entry for the request.
    #[error(
        "no cached answer for this request (cache key {key}) and the cache is offline, so no provider is called"
    )]
    CacheMiss { key: String },
    /// The upstream could not be reached (DNS, connect, TLS, proxy).
    #[error("could not reach provider `{provider}` (the gateway log has the cause)")]
    UpstreamUnreachable { provider: String },
    /// The upstream's answer broke off before any of it could be sent on.
    #[error("provider `{provider}` broke off its answer before sending any of it")]
    UpstreamBrokeOff { provider: String },
    /// The upstream answered 404 with no API error body: most likely its
    /// base URL is wrong (the path lacks `/v1`, say).
    #[error("{0}")]
    UpstreamNotFound(String),
    /// The upstream did not answer within the configured timeout.
    #[error("provider `{provider}` did not answer in time")]
    UpstreamTimeout { provider: String },
    /// The server is shutting down and its grace period is over.
    #[error("llm-bridge is shutting down; the request was not answered in time")]
    ShuttingDown,
    /// The request bodies held at once would pass
    /// `[server] bodies_in_flight_bytes`.
    #[error(
        "llm-bridge is holding as many request bodies as it may ({budget} bytes, [server] bodies_in_flight_bytes); try again shortly"
    )]
    Overloaded { budget: u64 },
    /// The usage database could not be read.
    #[error("usage statistics cannot be read: {0}")]
    StatsUnavailable(String),
    /// The provider's concurrency cap is reached and its queue is full.
    #[error(
        "provider `{provider}` is at its concurrency limit and its queue is full; try again shortly"
    )]
    ProviderBusy { provider: String },
    /// The request cannot be written in the API of the provider it is
    /// routed to (an embeddings request for Anthropic, a server tool for a
    /// non-Anthropic model).
    #[error("{0}")]
    Unsupported(String),
    /// A dashboard action that needs an admin key (`name/admin:key`).
    #[error("{0}")]
    AdminRequired(String),
    /// In open mode the dashboard and its API answer only this machine.
    #[error("{0}")]
    LocalOnly(String),
    /// A thing the dashboard API was asked about does not exist.
    #[error("{0}")]
    Missing(String),
    /// A dashboard action could not be done: a folder or file could not be
    /// read or written, or the server has no configuration source.
    #[error("{0}")]
    Unavailable(String),
    /// A cache key prefix that starts several entries' keys.
    #[error("{0}")]
    AmbiguousKey(String),
    /// The access key is over its requests- or tokens-per-minute limit.
    #[error("rate limit reached for {what} per minute: limit {limit}; try again in {} s", retry_after_secs(.retry_after))]
    RateLimited {
        /// `requests` or `tokens`.
        what: &'static str,
        limit: u64,
        retry_after: std::time::Duration,
    },
    /// The access key (or the gateway) has spent its daily or monthly
    /// budget; the message names it and when it resets.
    #[error("{message}")]
    BudgetExceeded {
        message: String,
        retry_after: std::time::Duration,
    },
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: &std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

impl AppError {
    /// HTTP status sent to the client.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_)
            | Self::InvalidField { .. }
            | Self::BodyUnreadable
            | Self::Unsupported(_) => StatusCode::BAD_REQUEST,
            Self::ModelNotFound(_)
            | Self::NotFound(_)
            | Self::CacheMiss { .. }
            | Self::Missing(_)
            | Self::UpstreamNotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::ForbiddenOrigin(_)
            | Self::ForbiddenHost(_)
            | Self::AdminRequired(_)
            | Self::LocalOnly(_) => StatusCode::FORBIDDEN,
            Self::AmbiguousKey(_) => StatusCode::CONFLICT,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::UpstreamUnreachable { .. } | Self::UpstreamBrokeOff { .. } => {
                StatusCode::BAD_GATEWAY
            }
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::ProviderBusy { .. }
            | Self::StatsUnavailable(_)
            | Self::Unavailable(_)
            | Self::ShuttingDown
            | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } | Self::BudgetExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// How long the client should wait, for errors that say so.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::BudgetExceeded { retry_after, .. } => {
                Some(*retry_after)
            }
            // A queue moves quickly; a second is a fair guess.
            Self::ProviderBusy { .. } | Self::Overloaded { .. } => {
                Some(std::time::Duration::from_secs(1))
            }
            _ => None,
        }
    }

    /// OpenAI's `error.type`.
    fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "authentication_error",
            Self::ForbiddenOrigin(_)
            | Self::ForbiddenHost(_)
            | Self::AdminRequired(_)
            | Self::LocalOnly(_) => "permission_error",
            Self::UpstreamUnreachable { .. }
            | Self::UpstreamBrokeOff { .. }
            | Self::UpstreamNotFound(_)
            | Self::UpstreamTimeout { .. } => "upstream_error",
            Self::ProviderBusy { .. }
            | Self::StatsUnavailable(_)
            | Self::Unavailable(_)
            | Self::ShuttingDown
            | Self::Overloaded { .. } => "server_error",
            // OpenAI's own rate-limit errors name the exhausted limit here.
            Self::RateLimited { what, .. } => what,
            // What OpenAI calls a spent quota.
            Self::BudgetExceeded { .. } => "insufficient_quota",
            _ => "invalid_request_error",
        }
    }

    /// OpenAI's `error.code`: a stable, low-cardinality name for the failure,
    /// also used in the request log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidField { .. } => "invalid_parameter",
            Self::Unsupported(_) => "unsupported_by_provider",
            Self::ModelNotFound(_) => "model_not_found",
            Self::Unauthorized(_) => "invalid_api_key",
            Self::ForbiddenOrigin(_) => "origin_not_allowed",
            Self::ForbiddenHost(_) => "host_not_allowed",
            Self::BodyTooLarge { .. } => "request_too_large",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::BodyTimeout { .. } => "request_timeout",
            Self::NotFound(_) => "unknown_url",
            Self::CacheMiss { .. } => "cache_miss",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::UpstreamUnreachable { .. } => "upstream_unreachable",
            Self::UpstreamBrokeOff { .. } => "upstream_error",
            Self::UpstreamNotFound(_) => "upstream_not_found",
            Self::UpstreamTimeout { .. } => "upstream_timeout",
            Self::ProviderBusy { .. } => "provider_busy",
            Self::StatsUnavailable(_) => "stats_unavailable",
            Self::ShuttingDown => "server_shutdown",
            Self::Overloaded { .. } => "overloaded",
            Self::RateLimited { .. } => "rate_limit_exceeded",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::AdminRequired(_) => "admin_required",
            Self::LocalOnly(_) => "local_only",
            Self::Missing(_) => "not_found",
            Self::AmbiguousKey(_) => "ambiguous_key",
            Self::Unavailable(_) => "unavailable",
        }
    }

    fn param(&self) -> Option<&'static str> {
        match self {
            Self::InvalidField { param, .. } => Some(param),
            Self::ModelNotFound(_) => Some("model"),
            _ => None,
        }
    }

    /// The OpenAI-shaped JSON body for this error.
    pub fn body(&self) -> serde_json::Value {
        self.body_in(ErrorShape::OpenAi)
    }

    /// The JSON body for this error in `shape`.
    pub fn body_in(&self, shape: ErrorShape) -> serde_json::Value {
        shape.body(&ErrorParts {
            status: self.status().as_u16(),
            message: &self.to_string(),
            kind: self.kind(),
            param: self.param(),
            code: self.code(),
        })
    }

    /// This error as the response `shape`'s clients read.
    pub fn into_response_in(self, shape: ErrorShape) -> Response {
        let mut response = (self.status(), Json(self.body_in(shape))).into_response();
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs(&wait)),
            );
        }
        response.extensions_mut().insert(ErrorCode(self.code()));
        response.extensions_mut().insert(Rendered(self));
        response
    }
}

impl IntoResponse for AppError {
    /// In OpenAI's shape; the edge renders it again for a route of another
    /// API ([`Rendered`]).
    fn into_response(self) -> Response {
        self.into_response_in(ErrorShape::OpenAi)
    }
}

/// Marks a response the gateway produced from an [`AppError`], so the request
/// log can name the failure.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// The error a response was made from, so the edge can render it in the
/// shape of the route's API whichever layer made it.
#[derive(Debug, Clone)]
pub struct Rendered(pub AppError);

/// The error shapes of the APIs clients call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorShape {
    /// `{"error":{"message","type","param","code"}}`; in a stream, a
    /// `data:` event of the same object.
    #[default]
    OpenAi,
    /// `{"type":"error","error":{"type","message"}}`; in a stream, an
    /// `event: error` of it.
    Anthropic,
    /// OpenAI's body; in a stream, a named `error` event
    /// (`{"type":"error","code","message","param","sequence_number"}`).
    Responses,
}

/// What an error says, whatever its shape.
#[derive(Debug, Clone, Copy)]
pub struct ErrorParts<'a> {
    pub status: u16,
    pub message: &'a str,
    /// OpenAI's `type`.
    pub kind: &'a str,
    pub param: Option<&'a str>,
    /// The stable code.
    pub code: &'a str,
}

impl ErrorShape {
    /// The shape of the API a path belongs to.
    pub fn for_path(path: &str) -> Self {
        let path = path.strip_prefix("/v1").unwrap_or(path);
        if path == "/messages" || path.starts_with("/messages/") {
            Self::Anthropic
        } else if path == "/responses" || path.starts_with("/responses/") {
            Self::Responses
        } else {
            Self::OpenAi
        }
    }

    /// The shape of its error bodies (Responses clients read OpenAI's).
    pub fn body_family(self) -> Self {
        match self {
            Self::Responses => Self::OpenAi,
            other => other,
        }
    }

    /// The error's JSON body.
    pub fn body(self, error: &ErrorParts<'_>) -> serde_json::Value {
        match self {
            Self::OpenAi | Self::Responses => json!({"error": {
                "message": error.message,
                "type": error.kind,
                "param": error.param,
                "code": error.code,
            }}),
            Self::Anthropic => json!({"type": "error", "error": {
                "type": anthropic_type(error.status),
                "message": error.message,
            }}),
        }
    }

    /// The error as the last event of a stream. A half-sent event is
    /// closed first (`at_event_boundary` false), so the error event parses
    /// on its own.
    pub fn event(self, error: &ErrorParts<'_>, at_event_boundary: bool) -> String {
        let lead = if at_event_boundary { "" } else { "\n\n" };
        match self {
            Self::OpenAi => format!("{lead}data: {}\n\n", self.body(error)),
            Self::Anthropic => format!("{lead}event: error\ndata: {}\n\n", self.body(error)),
            // The relay does not know the stream's count; the SDK only
            // needs the field to be a number.
            Self::Responses => {
                let event = json!({
                    "type": "error",
                    "code": error.code,
                    "message": error.message,
                    "param": error.param,
                    "sequence_number": 0,
                });
                format!("{lead}event: error\ndata: {event}\n\n")
            }
        }
    }
}

/// A 400 `invalid_parameter` for `param` (a request field a dialect or an
/// adapter cannot take as written).
pub fn invalid(param: &'static str, message: &str) -> AppError {
    AppError::InvalidField {
        param,
        message: message.to_string(),
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn anthropic_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 408 | 415 | 422 | 431 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ if status >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openai_error_shape() {
        let error = AppError::InvalidField {
            param: "messages",
            message: "`messages` is required".into(),
        };
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            error.body(),
            json!({"error": {
                "message": "`messages` is required",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "invalid_parameter",
            }})
        );
    }
}
