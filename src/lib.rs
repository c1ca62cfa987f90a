//! llm-bridge: one binary between OpenAI-style clients and every LLM
//! provider.
//!
//! # Layout
//! - [`cli`]: command-line flags.
//! - [`config`]: flags, environment and config file → validated [`config::Config`].
//! - [`app`]: shared state, router, server loop.
//! - [`observe`]: request id, provider header, request-log line per request.
//! - [`auth`]: access keys and pass-through of the client's provider key.
//! - [`browser`]: which web-page origins may call; CORS.
//! - [`routes`]: the HTTP endpoints.
//! - [`chat_body`]: the one parse of a chat-completions body.
//! - [`providers`]: the [`providers::Provider`] trait, adapters and model routing.
//! - [`proxy`]: sending upstream and relaying the answer as a stream.
//! - [`request_log`]: the rotated JSON-lines request log.
//! - [`telemetry`]: the stderr log.
//! - [`error`]: the request path's error type, rendered as OpenAI errors.
//!
//! # One request
//! `observe` assigns the request id → `auth` checks the access key →
//! `routes::chat` parses the body once (model, messages, stream) →
//! `providers::Registry` picks provider and upstream model → the provider
//! builds the upstream request → `proxy` sends it on the provider's pooled
//! client and relays status, headers and body chunk by chunk → when the body
//! ends, `observe` writes the request-log line.

pub mod app;
pub mod auth;
pub mod browser;
pub mod cache;
pub mod cache_cli;
pub mod chat_body;
pub mod cli;
pub mod config;
pub mod error;
pub mod flight;
pub mod leader;
pub mod observe;
pub mod providers;
pub mod proxy;
pub mod replay;
pub mod request_log;
pub mod routes;
pub mod telemetry;
