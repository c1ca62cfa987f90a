//! Diagnostics: the human-readable log on stderr.
//!
//! `RUST_LOG` sets the level (default `info`). Writes go through a
//! non-blocking writer so a slow terminal or pipe never stalls a request;
//! the returned guard flushes what is left when it is dropped at exit.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber. Call once, at start-up.
pub fn init_stderr() -> WorkerGuard {
    // The queue is allocated up front; diagnostics are a few lines a second,
    // so a small one is plenty (and keeps idle memory low).
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(4096)
        .thread_name("llm-bridge-stderr")
        .finish(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colours only for a person at a terminal, not in files or pipes.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
    guard
}
