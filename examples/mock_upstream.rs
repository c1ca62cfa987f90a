//! The tests' mock OpenAI upstream as a program, for the benchmark and for
//! trying llm-bridge without a provider account.
//!
//! ```text
//! cargo run --release --example mock_upstream -- [--listen 127.0.0.1:9000] [--chunks 3] [--chunk-delay-ms 0]
//! ```
//! Answers `POST …/chat/completions` under any path prefix: JSON for
//! `"stream": false`, an SSE stream of `--chunks` content chunks (each after
//! `--chunk-delay-ms`) for `"stream": true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/api/mock_upstream.rs"]
mod mock_upstream;

use std::time::Duration;

use mock_upstream::{MockOptions, MockUpstream};

fn main() {
    let mut listen = "127.0.0.1:9000".to_string();
    let mut options = MockOptions {
        record: false,
        ..MockOptions::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => listen = value(),
            "--chunks" => options.stream_chunks = value().parse().expect("--chunks: a number"),
            "--chunk-delay-ms" => {
                options.chunk_delay =
                    Duration::from_millis(value().parse().expect("--chunk-delay-ms: a number"))
            }
            other => {
                panic!("unknown option {other}; see the doc comment of examples/mock_upstream.rs")
            }
        }
    }
    // One worker thread: the mock should cost the machine as little as
    // possible, leaving the other core to whatever is measured.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
        let mock = MockUpstream::start_with(listener, options).await;
        println!("mock upstream listening on http://{}", mock.addr);
        std::future::pending::<()>().await;
    });
}
