//! Diagnostics: the human-readable log on stderr.
//!
//! `RUST_LOG` sets the level (default `info`). Writes go through a
//! non-blocking writer so a slow terminal or pipe never stalls a request;
//! the returned guard flushes what is left when it is dropped at exit.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber. Call once, at start-up.
pub fn init_stderr() -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .try_init();
    guard
}
