//! Integration tests: the real server on port 0 against a mock upstream on
//! port 0, over real HTTP. One test binary, so it compiles once.
//!
//! The first group of modules is what the tests share: `common` (the
//! in-process gateway and `PATIENCE`), `binary` (the real binary serving),
//! `command` (the real binary as a one-shot command), `reader` (streamed
//! bodies), `raw_http` (HTTP by hand over TCP) and `mock_upstream` (the
//! scriptable upstream, one file per dialect); `docs` checks the README.
//! The rest are the tests, one file per subject.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
mod budgets;
mod command;
mod common;
mod docs;
mod mock_upstream;
mod raw_http;
mod reader;

mod auth;
mod browser;
mod cache;
mod cache_cli;
mod cache_cli_files;
mod cache_cli_find;
mod cache_control;
mod cache_flow;
mod cli;
mod completions;
mod dashboard;
mod dashboard_browser;
mod dashboard_cache;
mod dashboard_keys;
mod dashboard_usage;
mod embeddings;
mod errors;
mod keys_cli;
mod leaks;
mod logging;
mod matrix;
mod messages;
mod mock_example;
mod mock_sdk;
mod models;
mod native_anthropic;
mod native_gemini;
mod overload;
mod proxy_setting;
mod rate_limits;
mod reload;
mod resilience;
mod responses;
mod routing;
mod sdk;
mod sdk_dialects;
mod security;
mod server_limits;
mod shared_cache;
mod shared_ledger;
mod shutdown;
mod startup;
mod stats_cli;
mod streaming;
mod usage;
