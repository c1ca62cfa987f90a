//! The request log: one JSON line per request in `<log_dir>/requests.log`,
//! rotated by size (default 10 MB per file, 5 files kept, as the Python LLM
//! Bridge did).
//!
//! Lines are collected in memory and written in batches by a background
//! thread ([`batch`]), so logging never waits for the disk and costs a
//! request no system call; if the disk falls far behind, lines are dropped
//! rather than slowing responses.
//!
//! A line never contains a key: callers appear as a short fingerprint.
//! Bodies are included only with `log_bodies = true`.

use serde::Serialize;

pub mod batch;
mod find;
pub mod rotating;

use crate::config::LogConfig;
use batch::{BatchWriter, FlushGuard};
use rotating::RotatingFile;

/// File name of the current request log; rotated files get `.1`, `.2`, ….
pub const REQUEST_LOG_FILE: &str = "requests.log";

/// One line of the request log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub time: String,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub key_id: Option<&'a str>,
    pub model: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub upstream_model: Option<&'a str>,
    pub stream: Option<bool>,
    pub cache: Option<&'a str>,
    pub cache_key: Option<&'a str>,
    pub status: u16,
    pub error: Option<&'a str>,
    /// `complete`, `client_closed`, `upstream_error` or `shutdown`.
    pub outcome: &'a str,
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
    pub bytes: u64,
    /// The gateway answered with its own estimate (token counting).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

/// Handle to the request log; cheap to clone.
#[derive(Clone)]
pub struct RequestLog {
    writer: BatchWriter,
    log_bodies: bool,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("log_bodies", &self.log_bodies)
            .finish()
    }
}

impl RequestLog {
    /// Opens (creating the folder) the request log. Keep the guard alive for
    /// as long as the server runs; dropping it writes the remaining lines.
    pub fn open(config: &LogConfig) -> std::io::Result<(Self, FlushGuard)> {
        std::fs::create_dir_all(&config.dir)?;
        let file = RotatingFile::open(
            config.dir.join(REQUEST_LOG_FILE),
            config.max_file_bytes,
            config.max_files,
        )?;
        let (writer, guard) = BatchWriter::spawn(file)?;
        Ok((
            Self {
                writer,
                log_bodies: config.log_bodies,
            },
            guard,
        ))
    }

    /// Whether bodies are logged.
    pub fn log_bodies(&self) -> bool {
        self.log_bodies
    }

    /// The newest log line of request `request_id` (parsed), if the kept
    /// files or the lines not yet written have it. Blocking.
    pub fn find(&self, request_id: &str) -> std::io::Result<Option<serde_json::Value>> {
        let Some(line) = self.writer.find_line(request_id)? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&line).ok())
    }

    /// Queues one line.
    pub fn write(&self, record: &Record<'_>) {
        if let Ok(line) = serde_json::to_string(record) {
            self.write_json(line);
        }
    }

    /// Queues one line already serialized from a [`Record`] (the sink
    /// serializes it once for the log and the dashboard's feed).
    pub fn write_json(&self, mut line: String) {
        line.push('\n');
        self.writer.write_line(line.as_bytes());
    }
}
