//! The usage database file and the one thread that writes to it.
//!
//! Why a thread and a bounded channel: SQLite calls block, and a commit can
//! wait on the disk or on another program's lock, so nothing here may run
//! on the request path or the async runtime. A request hands its record to
//! [`UsageStore::record`], which only tries to put it in a channel; a full
//! channel drops the record and counts it rather than making a response
//! wait. One writer thread wakes every [`FLUSH_INTERVAL`] (or
//! when unparked for a flush or the stop), takes what has queued and writes
//! it in batches of up to [`BATCH_MAX`], each in one transaction with one cached prepared statement, so a
//! commit is paid per batch, not per request.
//!
//! The writer never stops on an error: a batch that cannot be written (disk
//! full, the file locked by another program for longer than
//! [`BUSY_TIMEOUT`]) is dropped, counted and logged (at most once a minute).
//! It also deletes rows older than the retention period, at start and then
//! every [`PRUNE_INTERVAL`]. Dropping the [`StoreGuard`] writes out what is
//! still queued, waiting at most [`SHUTDOWN_LIMIT`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use rusqlite::Connection;

use super::writer::{Ledger, Writer};
use super::{DATABASE_FILE, StatsError};
use crate::usage::UsageRecord;

pub use super::schema::SCHEMA_VERSION;
/// Records waiting for the writer. A record is about 300 bytes, so a full
/// channel holds ~3 MB (its slots, allocated up front, hold only boxes:
/// 80 KB); that is ten seconds of a stalled disk at 1,000 requests a
/// second, far more than one person's gateway sees.
pub const CHANNEL_CAPACITY: usize = 10_000;
/// Most records in one transaction. Large enough that a burst costs a
/// handful of commits, small enough that one transaction holds the write
/// lock for milliseconds, not seconds, so a reader's snapshot stays fresh.
pub const BATCH_MAX: usize = 500;
/// Longest a record waits in a batch: `llm-bridge stats` right after a
/// request already sees it.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// How long a statement waits for a lock another connection holds (an
/// SQLite tool someone left in a transaction) before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often rows past the retention period are deleted. An hour keeps at
/// most an hour's worth of rows beyond it and costs one indexed delete.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// How long dropping the guard waits for queued records to be written. A
/// full channel is written in well under a second; past this the disk is
/// stuck and shutdown should not hang on it.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// Dropped records and failed writes are reported at most this often, so
/// a stuck disk does not flood the log.
pub(super) const WARNING_INTERVAL_MS: i64 = 60_000;

/// The writer's limits; tests shrink them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub capacity: usize,
    pub batch_max: usize,
    pub flush_interval: Duration,
    pub busy_timeout: Duration,
    pub prune_interval: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            capacity: CHANNEL_CAPACITY,
            batch_max: BATCH_MAX,
            flush_interval: FLUSH_INTERVAL,
            busy_timeout: BUSY_TIMEOUT,
            prune_interval: PRUNE_INTERVAL,
        }
    }
}

pub(super) enum Message {
    /// Boxed so the channel's slots stay a pointer wide.
    Record(Box<UsageRecord>),
    /// Sent by the guard so an idle writer wakes at once.
    Stop,
    /// Write what is queued now, then answer.
    Flush(mpsc::Sender<()>),
}

pub(super) struct Shared {
    sender: SyncSender<Message>,
    pub(super) path: PathBuf,
    pub(super) stopping: AtomicBool,
    /// The writer thread, to wake it for a flush or the stop.
    writer: OnceLock<Thread>,
    dropped: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) failed: AtomicU64,
    last_drop_warning_ms: AtomicI64,
}

/// Hands usage records to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct UsageStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UsageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageStore")
            .field("path", &self.shared.path)
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Keeps the writer thread; dropping it writes out the queued records and
/// stops the thread. Keep it alive for as long as the server runs.
#[must_use = "dropping the guard stops the statistics writer"]
pub struct StoreGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    finished: Receiver<()>,
}

impl std::fmt::Debug for StoreGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreGuard")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl UsageStore {
    /// Opens (creating the folder, the file and its schema) `dir`'s usage
    /// database and starts its writer thread. Rows older than `retention`
    /// are deleted at start and then hourly.
    pub fn open(dir: &Path, retention: Duration) -> Result<(Self, StoreGuard), StatsError> {
        Self::open_tuned(dir, retention, Tuning::default())
    }

    pub(crate) fn open_tuned(
        dir: &Path,
        retention: Duration,
        tuning: Tuning,
    ) -> Result<(Self, StoreGuard), StatsError> {
        Self::open_sqlite(dir, retention, tuning, None)
    }

    fn open_sqlite(
        dir: &Path,
        retention: Duration,
        tuning: Tuning,
        instance: Option<String>,
    ) -> Result<(Self, StoreGuard), StatsError> {
        std::fs::create_dir_all(dir).map_err(|source| StatsError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DATABASE_FILE);
        let connection = open_database(&path, tuning.busy_timeout)?;
        Self::start(
            Ledger::Sqlite(connection),
            path,
            instance,
            retention,
            tuning,
        )
    }

    /// The store of an instance named `instance`: in the PostgreSQL
    /// database at `url` when given (shared by every instance), else in
    /// `dir`'s SQLite file. PostgreSQL is connected to when the first batch
    /// is written (and again after a failure).
    pub fn open_ledger(
        dir: &Path,
        url: Option<&str>,
        instance: &str,
        retention: Duration,
    ) -> Result<(Self, StoreGuard), StatsError> {
        let Some(url) = url else {
            return Self::open_sqlite(
                dir,
                retention,
                Tuning::default(),
                Some(instance.to_string()),
            );
        };
        // Connected by the writer thread with its first batch (the blocking
        // client must not run on the async runtime's threads).
        let ledger = Ledger::Postgres {
            url: url.to_string(),
            client: None,
        };
        let shown = PathBuf::from(crate::config::secret::displayable_url(url));
        Self::start(
            ledger,
            shown,
            Some(instance.to_string()),
            retention,
            Tuning::default(),
        )
    }

    fn start(
        ledger: Ledger,
        path: PathBuf,
        instance: Option<String>,
        retention: Duration,
        tuning: Tuning,
    ) -> Result<(Self, StoreGuard), StatsError> {
        let (sender, receiver) = mpsc::sync_channel(tuning.capacity.max(1));
        let shared = Arc::new(Shared {
            sender,
            path,
            stopping: AtomicBool::new(false),
            writer: OnceLock::new(),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_drop_warning_ms: AtomicI64::new(i64::MIN),
        });
        let (finished_tx, finished) = mpsc::channel();
        let writer = Writer {
            ledger,
            instance,
            shared: Arc::clone(&shared),
            retention,
            tuning,
            last_failure_warning: None,
        };
        let thread = thread::Builder::new()
            .name("llm-bridge-usage".into())
            .spawn(move || {
                writer.run(&receiver);
                // Dropping the sender is the signal; sending is for clarity.
                let _ = finished_tx.send(());
            })
            .map_err(StatsError::Thread)?;
        let _ = shared.writer.set(thread.thread().clone());
        Ok((
            Self {
                shared: Arc::clone(&shared),
            },
            StoreGuard {
                shared,
                thread: Some(thread),
                finished,
            },
        ))
    }

    /// Queues one record; never blocks. When the writer is too far behind
    /// the record is dropped and counted (see [`Self::dropped`]).
    pub fn record(&self, record: UsageRecord) {
        if self.shared.stopping.load(Ordering::Acquire) {
            return;
        }
        match self
            .shared
            .sender
            .try_send(Message::Record(Box::new(record)))
        {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                self.warn_dropped(dropped);
            }
        }
    }

    fn warn_dropped(&self, dropped: u64) {
        let now = now_ms();
        let last = self.shared.last_drop_warning_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < WARNING_INTERVAL_MS {
            return;
        }
        // Only the caller that moves the mark logs, so racing requests do
        // not all warn at once.
        if self
            .shared
            .last_drop_warning_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            tracing::warn!(
                dropped,
                "usage statistics fell behind the disk; records are being dropped ({dropped} so far)"
            );
        }
    }

    /// Waits (blocking, at most `patience`) until every record queued
    /// before the call is written, so a report made next includes them.
    /// Returns whether that happened in time.
    pub fn flush(&self, patience: Duration) -> bool {
        let (done, written) = mpsc::channel();
        if self.shared.sender.try_send(Message::Flush(done)).is_err() {
            return false;
        }
        self.shared.wake_writer();
        written.recv_timeout(patience).is_ok()
    }

    /// Records dropped because the writer was too far behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records written to the database.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Records lost because their batch could not be written.
    pub fn write_failures(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

impl Shared {
    fn wake_writer(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }
}

impl Drop for StoreGuard {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        // A full channel means the writer is busy and will see `stopping`
        // after its current batch.
        let _ = self.shared.sender.try_send(Message::Stop);
        self.shared.wake_writer();
        match self.finished.recv_timeout(SHUTDOWN_LIMIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
            Err(RecvTimeoutError::Timeout) => tracing::warn!(
                "usage statistics: gave up waiting for {} after {} s; records still queued are lost",
                self.shared.path.display(),
                SHUTDOWN_LIMIT.as_secs()
            ),
        }
    }
}

/// Opens the file read-write, in WAL mode, with the current schema.
fn open_database(path: &Path, busy_timeout: Duration) -> Result<Connection, StatsError> {
    let open_error = |source| StatsError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut connection = Connection::open(path).map_err(open_error)?;
    connection.busy_timeout(busy_timeout).map_err(open_error)?;
    // WAL lets `llm-bridge stats` read while the server writes; with it,
    // NORMAL syncs only at checkpoints: a power cut can lose the last
    // batches, never corrupt the file.
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            "usage statistics: {} is in {mode} journal mode, not WAL; reading it may delay writes",
            path.display()
        );
    }
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_error)?;
    super::schema::migrate(&mut connection, path)?;
    Ok(connection)
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
