//! llm-bridge: one binary between OpenAI-style clients and every LLM
//! provider.
//!
//! # Layout
//! - [`cli`]: command-line flags.
//! - [`config`]: flags, environment and config file → validated [`config::Config`].
//! - [`app`]: shared state and the router.
//! - [`server`]: the accept loop: connection limits, request-head limits,
//!   graceful shutdown.
//! - [`observe`]: request id, host, origin and head-size checks, provider
//!   header, request-log line, the end of answers at a shutdown.
//! - [`auth`]: access keys and pass-through of the client's provider key.
//! - [`admission`]: the rate limits as the request path applies them.
//! - [`browser`]: which web-page origins may call and which `Host` names are
//!   answered; CORS.
//! - [`limits`]: per-access-key requests and tokens per minute.
//! - [`tokens`]: prompt and text token estimates (tiktoken).
//! - [`prices`]: what tokens cost: the built-in price table and `[prices]`.
//! - [`metrics`]: Prometheus metrics for `GET /metrics`.
//! - [`routes`]: the HTTP endpoints.
//! - [`chat_body`]: the one parse of a chat-completions body.
//! - [`providers`]: the [`providers::Provider`] trait, adapters and model routing.
//! - [`upstream`]: calling upstream: retries, key rotation, the concurrency
//!   gate, timeouts and fallbacks.
//! - [`redact`]: masking provider keys (and a passed-through client key) an
//!   upstream echoes in its answers.
//! - [`proxy`]: relaying the answer as a stream.
//! - [`cache`]: keys, entries, the [`cache::CacheStore`] trait and its flat-file
//!   store, what may be stored, conversions between JSON and SSE answers.
//! - [`flight`]: single flight: one upstream call, many listeners.
//! - [`leader`]: the task that reads the upstream for a flight and stores
//!   the answer.
//! - [`replay`]: cache hits as SSE or JSON, at once or paced.
//! - [`cache_cli`]: `llm-bridge cache …`.
//! - [`dotenv`]: how `.env` joins the environment: reading it, naming a
//!   bad line, warning about variables the real environment shadows.
//! - [`dotenv`]: reading `.env` for the configuration: its lines, and the
//!   names the environment shadows.
//! - [`reload`]: watching `.env` and the config file; live reload.
//! - [`env_file`]: editing `.env` in place: quoting, atomic replacement.
//! - [`keys_cli`]: `llm-bridge keys …`.
//! - [`request_log`]: the batched, rotated JSON-lines request log.
//! - [`usage`]: reading usage from answers as they pass; the usage record.
//! - [`stats`]: the usage database (one row per chat request, written off the
//!   request path) and `llm-bridge stats` reports over it.
//! - [`telemetry`]: the stderr log.
//! - [`error`]: the request path's error type, rendered as OpenAI errors.
//!
//! # One request
//! `observe` assigns the request id and checks the host and origin → `auth` checks the
//! access key → `routes::chat` parses the body once (model, messages,
//! stream) → `providers::Registry` picks provider and upstream model → the
//! cache key is derived → a hit is replayed from disk (`replay`) → a miss
//! joins or starts a flight: the leader task has the provider build the
//! upstream request, sends it on the provider's pooled client, hands each
//! chunk to every listener as it arrives and stores a complete answer before
//! the listeners see the end → when the body ends, `observe` writes the
//! request-log line. With the cache off, `proxy` relays the answer directly.

pub mod admin;
pub mod api;
pub mod cache;
pub mod caller;
pub mod cli;
pub mod config;
pub mod edge;
pub mod error;
pub mod headers;
pub mod limits;
pub mod metrics;
pub mod notes;
pub mod pipeline;
pub mod prices;
pub mod request_log;
pub mod stats;
pub mod stream;
pub mod tokens;
pub mod upstream;
pub mod usage;
pub mod wire;
pub mod wiring;
