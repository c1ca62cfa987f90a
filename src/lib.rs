//! llm-bridge: one binary between every LLM client and every LLM
//! provider.
//!
//! # Layout, in the order a request meets it
//! - [`wiring`]: the composition root, the one module that knows every
//!   other: the state and the narrow handles handed out of it, the router
//!   and its layers, the serve loop, live reload, the sink of finished
//!   requests.
//! - [`config`]: flags, environment, `.env` and the config file → one
//!   validated [`config::Config`]; [`config::live::Current`] handles on the
//!   parts a reload replaces.
//! - [`edge`]: the inbound layers in order: request id, head size, `Host`
//!   and `Origin` guards, access keys, the body within its limits, and the
//!   end of every request (its log line, usage record and metrics).
//! - [`api`]: the inbound dialects (OpenAI chat completions, Anthropic
//!   Messages and token counting, OpenAI Responses, embeddings, legacy
//!   completions, and the model list), each turning its requests into the
//!   pipeline's exchange and rendering answers of any wire for its clients.
//! - [`pipeline`]: dialect-free: route → key → lookup → flight → leader →
//!   relay → store; replay of hits; requests of independent items cached
//!   item by item.
//! - [`cache`]: keys, entries, the [`cache::CacheStore`] trait and its
//!   flat-file store (which owns eviction, scanning and listing).
//! - [`upstream`]: the providers and their adapters (OpenAI-compatible,
//!   Anthropic Messages, Gemini `generateContent`); the call with retries,
//!   key rotation, gates, timeouts and fallbacks; keys an upstream echoes,
//!   masked.
//! - [`stream`]: the one SSE reader, body time limits, transcoding one
//!   event stream into another as it passes, the relay to a client.
//! - [`wire`]: every API's answers: completeness, usage, the conversions
//!   between JSON and SSE, and the decoding of Anthropic's and Gemini's
//!   into the exchange's form (OpenAI chat); upstream errors rewritten in
//!   another API's shape.
//! - Accounting: [`usage`] (the record of a request), [`stats`] (the usage
//!   database and its reports), [`metrics`] (Prometheus), [`prices`],
//!   [`tokens`] (counts and estimates), [`request_log`], [`limits`] (rate
//!   limit state), [`budgets`] (spend against the daily and monthly
//!   budgets).
//! - [`admin`]: `/health`, `/metrics`, and the dashboard's API under
//!   `/api/` (who may call it, the live feed, stats, cache, status, keys
//!   and reloads); it checks access keys with [`edge::auth`].
//! - [`dashboard`]: the page at `/ui`, its files embedded in the binary.
//! - [`cli`]: the flags and the `cache`, `keys` and `stats` commands.
//! - Shared vocabulary: [`headers`], [`error`] (the request path's error
//!   type, rendered in each API's shape), [`caller`] (who sent a request),
//!   [`notes`] (what a request learns on its way).
//!
//! Dependencies point one way: each module above uses only those after it
//! in this list, or the shared vocabulary; only [`wiring`] (and `main`)
//! uses everything. Accounting modules use only vocabulary and each other;
//! stages reach them through the narrow handles the wiring hands out.
//!
//! # One request
//! [`edge::around`] gives the request its id and notes and checks head size,
//! host and origin → [`edge::auth`] checks the access key and attaches the
//! [`caller::Caller`] → [`edge::body`] reads the body within its limits →
//! the dialect's handler ([`api::openai_chat::chat_completions`]) parses it
//! into an [`pipeline::Exchange`] → [`pipeline::serve`] routes the model
//! ([`upstream::Registry`]), counts the request against its rate limits,
//! derives the cache key, replays a hit ([`pipeline::replay`]) or joins or
//! leads a flight ([`pipeline::flight`]): the leader's task
//! ([`pipeline::leader`]) calls upstream once ([`upstream::call`], the
//! adapter building the provider's request), hands each chunk to every
//! listener as it arrives and stores a complete answer before the listeners
//! see the end; each listener's chunks pass its tap (usage noted, the
//! dialect's rendering) → when the response body ends, [`edge::finish`]
//! hands the request to the sink: request-log line, usage record, metrics.
//!
//! # Adding a dialect or an adapter
//! A **dialect** (an API clients speak) is a folder under [`api`] with:
//! a type implementing [`pipeline::ParsedRequest`] (its body parsed once:
//! model, stream flag, the fields that decide the answer, the request
//! written in the exchange's form, its prompt-counting rule), a type
//! implementing [`pipeline::Dialect`] (its endpoint name, and answers in
//! the exchange's [`wire::Wire`] rendered for its clients, streamed and
//! whole), and a handler that builds the [`pipeline::Exchange`] and calls
//! [`pipeline::serve`]; plus one route in [`wiring::router`].
//!
//! An **adapter** (a provider API) is a module under [`upstream::adapters`]
//! implementing [`upstream::adapters::Adapter`]: where its requests go, how
//! its key is sent, its request body from the exchange's, and the
//! [`wire::Wire`] its answers come in (with that wire's rules in [`wire`]
//! when it is a new one); plus a [`config::ProviderKind`] and its arm in
//! [`upstream::adapters::for_provider`]. Sending, retries, timeouts, the
//! cache and accounting are shared and need nothing.

pub mod admin;
pub mod api;
pub mod budgets;
pub mod cache;
pub mod caller;
pub mod cli;
pub mod config;
pub mod dashboard;
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
