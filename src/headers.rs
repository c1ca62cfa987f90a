//! Header names llm-bridge reads from requests or adds to responses, in
//! one place so every stage spells them alike.

use axum::http::{HeaderName, HeaderValue};

/// Echoed from the client when plain and short, else generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Which provider answered; [`SELF_PROVIDER`] when the gateway answered
/// itself.
pub const PROVIDER: HeaderName = HeaderName::from_static("x-llm-bridge-provider");
/// The provider header's value for answers the gateway gives itself.
pub const SELF_PROVIDER: HeaderValue = HeaderValue::from_static("llm-bridge");
/// `provider/model` of the model that answered (a fallback's, when one did).
pub const ANSWERING_MODEL: HeaderName = HeaderName::from_static("x-llm-bridge-model");
/// The upstream's own request id, renamed so it does not clash with ours.
pub const UPSTREAM_REQUEST_ID: HeaderName = HeaderName::from_static("x-upstream-request-id");
/// `HIT`, `MISS` or `BYPASS`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// The request's cache key.
pub const X_CACHE_KEY: HeaderName = HeaderName::from_static("x-cache-key");
/// `paced` replays a hit at the pace it was recorded.
pub const X_CACHE_REPLAY: HeaderName = HeaderName::from_static("x-cache-replay");
/// Set on streams so intermediaries such as nginx do not buffer them.
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
