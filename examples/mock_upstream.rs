//! The tests' mock OpenAI upstream as a program, for the benchmark and for
//! trying llm-bridge without a provider account.
//!
//! ```text
//! cargo run --release --example mock_upstream -- [--listen 127.0.0.1:9000] [--chunks 3] [--chunk-delay-ms 0]
//! ```
//! Answers `POST …/chat/completions` under any path prefix: JSON for
//! `"stream": false`, an SSE stream of `--chunks` content chunks (each after
//! `--chunk-delay-ms`) for `"stream": true`. `--help` lists the options;
//! bad ones exit with status 2 and a one-line error, as a CLI should.

// The mock is shared with the tests, which may unwrap; this file may not.
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/api/mock_upstream/mod.rs"]
mod mock_upstream;

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::Duration;

use mock_upstream::{MockOptions, MockUpstream};

/// What `--help` prints; the defaults are those of [`Options::default`].
const USAGE: &str = "\
A mock OpenAI-compatible upstream, for trying llm-bridge without a provider
account and for the benchmark. It answers POST .../chat/completions under any
path prefix: a JSON completion for \"stream\": false, an SSE stream of content
chunks for \"stream\": true.

Usage: mock_upstream [OPTIONS]

Options:
  --listen ADDR        Address to listen on; port 0 picks a free one
                       [default: 127.0.0.1:9000]
  --chunks N           Content chunks in a streamed answer [default: 3]
  --chunk-delay-ms MS  Pause before each content chunk, in milliseconds
                       [default: 0]
  -h, --help           Print this help and exit

Once listening it prints `mock upstream listening on http://ADDR` on stdout.
";

/// The settings the command line chose.
#[derive(Debug)]
struct Options {
    listen: String,
    chunks: usize,
    chunk_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9000".to_string(),
            chunks: 3,
            chunk_delay: Duration::ZERO,
        }
    }
}

/// What the command line asks for.
enum Wanted {
    Help,
    Serve(Options),
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Wanted::Serve(options)) => options,
        Ok(Wanted::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("mock_upstream: {message}; see --help");
            return ExitCode::from(2);
        }
    };
    match serve(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mock_upstream: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--name value` and `--name=value` options. Errors are one line
/// that names the option.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Wanted, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        if matches!(name.as_str(), "-h" | "--help") {
            return match inline {
                None => Ok(Wanted::Help),
                Some(_) => Err(format!("{name} takes no value")),
            };
        }
        if !matches!(name.as_str(), "--listen" | "--chunks" | "--chunk-delay-ms") {
            return Err(format!("unknown option `{name}`"));
        }
        let value = match inline {
            Some(value) => value.to_string(),
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--listen" => options.listen = address(&value)?,
            "--chunks" => options.chunks = whole_number(&name, &value)?,
            _ => options.chunk_delay = Duration::from_millis(whole_number(&name, &value)?),
        }
    }
    Ok(Wanted::Serve(options))
}

fn whole_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name} takes a whole number, not `{value}`"))
}

/// An address to bind: `ip:port` or `host:port`.
fn address(value: &str) -> Result<String, String> {
    match value.to_socket_addrs().map(|mut found| found.next()) {
        Ok(Some(_)) => Ok(value.to_string()),
        _ => Err(format!(
            "--listen takes an address such as 127.0.0.1:9000, not `{value}`"
        )),
    }
}

fn serve(options: Options) -> Result<(), String> {
    let mock_options = MockOptions {
        stream_chunks: options.chunks,
        chunk_delay: options.chunk_delay,
        // The benchmark sends millions of requests: keep memory flat.
        record: false,
    };
    // One worker thread: the mock should cost the machine as little as
    // possible, leaving the other core to whatever is measured.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&options.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        let mock = MockUpstream::start_with(listener, mock_options).await;
        println!("mock upstream listening on http://{}", mock.addr);
        std::future::pending::<Result<(), String>>().await
    })
}
