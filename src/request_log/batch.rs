//! Lines collected in memory and written by a background thread in batches.
//!
//! Why not a channel per line: handing each line to a writer thread cost a
//! thread wake-up and several system calls per request, more than the rest
//! of the log. Here a request only appends to a buffer under a short lock;
//! the thread wakes every [`FLUSH_INTERVAL`] and writes whatever is there in
//! one go. If the disk stalls, the buffer stops growing at
//! [`MAX_PENDING_BYTES`] and further lines are dropped (and counted), so a
//! slow disk never slows or blocks a response.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::rotating::RotatingFile;

/// How long a line may wait before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Lines waiting beyond this are dropped: a few seconds of a disk stall at
/// thousands of requests a second.
pub const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

struct Shared {
    pending: Mutex<Vec<u8>>,
    /// Held by the writer thread from taking the pending lines until they
    /// are in the file, so a lookup ([`BatchWriter::find_line`]) holding it
    /// sees every line either pending or written, never in between.
    writing: Mutex<()>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// Appends lines; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
    /// The file and its rotated ones, newest first.
    files: Arc<[std::path::PathBuf]>,
}

/// Stops the writer thread, flushing what is left, when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// Starts the writer thread for `file`.
    pub fn spawn(mut file: RotatingFile) -> std::io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            writing: Mutex::new(()),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let worker = Arc::clone(&shared);
        let files = file.files();
        let thread = thread::Builder::new()
            .name("llm-bridge-request-log".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(64 * 1024);
                let mut reported_drops = 0;
                loop {
                    let stopping = worker.stop.load(Ordering::Acquire);
                    let writing = worker.writing.lock().unwrap_or_else(|p| p.into_inner());
                    {
                        let mut pending = worker.pending.lock().unwrap_or_else(|p| p.into_inner());
                        std::mem::swap(&mut *pending, &mut batch);
                    }
                    if !batch.is_empty() {
                        if let Err(error) = file.write_lines(&batch) {
                            eprintln!("llm-bridge: cannot write the request log: {error}");
                        }
                        batch.clear();
                    }
                    drop(writing);
                    let dropped = worker.dropped.load(Ordering::Relaxed);
                    if dropped > reported_drops {
                        tracing::warn!(
                            "the request log fell behind the disk; {} lines dropped so far",
                            dropped
                        );
                        reported_drops = dropped;
                    }
                    if stopping {
                        break;
                    }
                    thread::park_timeout(FLUSH_INTERVAL);
                }
            })?;
        Ok((
            Self {
                shared: Arc::clone(&shared),
                files: Arc::from(files),
            },
            FlushGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Queues one line (which must end with `\n`).
    pub fn write_line(&self, line: &[u8]) {
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if pending.len() + line.len() > MAX_PENDING_BYTES {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.extend_from_slice(line);
    }
}

impl BatchWriter {
    /// The newest line of request `request_id`, pending or written; see
    /// [`super::find`]. Blocking; the writer waits meanwhile (the request
    /// path does not: it only appends to the pending lines).
    pub fn find_line(&self, request_id: &str) -> std::io::Result<Option<Vec<u8>>> {
        let _writing = self
            .shared
            .writing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        super::find::find_line(&pending, &self.files, request_id)
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
