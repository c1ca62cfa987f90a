//! The cache's writer: one thread that stores entries in the order they
//! were answered, so a miss's response does not wait for its files and no
//! request pays a hand-off to tokio's blocking pool (whose threads grow
//! under load, each with its own allocator arena). The thread wakes every
//! [`WRITE_INTERVAL`] (or sooner when much is waiting, or for a flush) and
//! writes what has queued: a receiver blocked on the queue would make every
//! save a futex wake-up and a context switch, right when the client whose
//! answer it is sends its next request.
//!
//! An entry waiting for its write is *pending*: lookups find it in memory,
//! so a client that asks again the moment its answer ended gets a hit, as
//! it did when the write came before the end. The queue is bounded by
//! bytes ([`QUEUE_BYTES`]) and entries; past that, a save waits for room,
//! so a flood of answers slows their leaders instead of growing memory. A
//! `kill -9` loses the pending entries (never damages one: each file is
//! still written through a rename).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use tokio::sync::Notify;

use super::entry::CacheEntry;
use super::key::CacheKey;
use super::store::CacheStore;

/// Bytes of responses waiting for their write, at most.
pub const QUEUE_BYTES: u64 = 32 * 1024 * 1024;

/// Entries waiting for their write, at most.
const QUEUE_ENTRIES: usize = 4096;

/// Longest an entry waits for the writer to wake.
pub const WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Waiting entries or bytes past which a save wakes the writer at once.
const WAKE_ENTRIES: usize = 256;
const WAKE_BYTES: u64 = 1024 * 1024;

/// What became of a save.
enum Enqueued {
    Queued,
    /// No room now: wait for the writer.
    Full,
    /// No writer thread: write on the blocking pool.
    NoWriter,
}

enum Job {
    /// The entry as it is pending (the same allocation), and its request.
    Put(CacheKey, Arc<CacheEntry>, Bytes),
    /// Answered once every job before it is done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Entries written but not yet on disk, by key, and their total size.
#[derive(Default)]
struct Pending {
    entries: HashMap<CacheKey, Arc<CacheEntry>>,
    bytes: u64,
}

/// The writer thread's handle.
#[derive(Debug)]
pub struct CacheWriter {
    queue: Option<SyncSender<Job>>,
    pending: Arc<Mutex<Pending>>,
    store: Arc<dyn CacheStore>,
    /// The writer thread, to wake it.
    thread: Option<std::thread::Thread>,
    /// Signalled by the writer after each round, for saves waiting for
    /// room in the queue.
    room: Arc<Notify>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

fn lock(pending: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a queued write holds in memory.
fn queued_bytes(entry: &CacheEntry, request: &Bytes) -> u64 {
    entry.body.len() as u64 + request.len() as u64
}

fn put(store: &dyn CacheStore, entry: &CacheEntry, request: &[u8]) {
    if let Err(error) = store.put(entry, request) {
        tracing::warn!(%error, "cache entry not stored");
    }
}

impl CacheWriter {
    /// Starts the writer thread over `store`. Without a thread (the system
    /// refused one), every save writes on the blocking pool.
    pub fn start(store: Arc<dyn CacheStore>) -> Self {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let (queue, jobs) = sync_channel(QUEUE_ENTRIES);
        let thread_store = Arc::clone(&store);
        let thread_pending = Arc::clone(&pending);
        let room = Arc::new(Notify::new());
        let thread_room = Arc::clone(&room);
        let started = std::thread::Builder::new()
            .name("llm-bridge-cache-writer".into())
            .spawn(move || write_all(jobs, thread_store.as_ref(), &thread_pending, &thread_room));
        if let Err(error) = &started {
            tracing::warn!(%error, "cache writer thread not started; writing on the blocking pool");
        }
        let thread = started.ok().map(|handle| handle.thread().clone());
        Self {
            queue: thread.as_ref().map(|_| queue),
            pending,
            store,
            thread,
            room,
        }
    }

    /// The entry for `key` still waiting for its write.
    pub fn pending(&self, key: &CacheKey) -> Option<CacheEntry> {
        lock(&self.pending)
            .entries
            .get(key)
            .map(|entry| CacheEntry::clone(entry))
    }

    /// Queues `entry` for writing. When the queue is full, waits for the
    /// writer to make room: one thread writes, so a burst slows the leaders
    /// that store (their clients see the answer's end later) instead of
    /// growing memory or racing the writer for the folder.
    pub async fn save(&self, entry: CacheEntry, request: Bytes) {
        let Some(key) = CacheKey::parse(&entry.meta.key) else {
            return;
        };
        // A copy of its own: the request is a slice of its connection's
        // read buffer (up to 128 KiB), which a pending entry would pin.
        let request = Bytes::copy_from_slice(&request);
        let entry = Arc::new(entry);
        loop {
            let room = self.room.notified();
            let mut room = std::pin::pin!(room);
            // Registered before trying, so room made in between is seen.
            room.as_mut().enable();
            match self.enqueue(&key, &entry, &request) {
                Enqueued::Queued => return,
                Enqueued::Full => {
                    self.wake();
                    room.await;
                }
                Enqueued::NoWriter => return self.write_here(entry, request).await,
            }
        }
    }

    /// Queues the write, or says why not.
    fn enqueue(&self, key: &CacheKey, entry: &Arc<CacheEntry>, request: &Bytes) -> Enqueued {
        let Some(queue) = &self.queue else {
            return Enqueued::NoWriter;
        };
        let size = queued_bytes(entry, request);
        let mut pending = lock(&self.pending);
        // An entry larger than the whole budget still goes, alone.
        if pending.bytes + size > QUEUE_BYTES && !pending.entries.is_empty() {
            return Enqueued::Full;
        }
        let job = Job::Put(key.clone(), Arc::clone(entry), request.clone());
        match queue.try_send(job) {
            Ok(()) => {
                pending.bytes += size;
                pending.entries.insert(key.clone(), Arc::clone(entry));
                if pending.entries.len() >= WAKE_ENTRIES || pending.bytes >= WAKE_BYTES {
                    self.wake();
                }
                Enqueued::Queued
            }
            Err(TrySendError::Full(_)) => Enqueued::Full,
            Err(TrySendError::Disconnected(_)) => Enqueued::NoWriter,
        }
    }

    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }

    async fn write_here(&self, entry: Arc<CacheEntry>, request: Bytes) {
        let store = Arc::clone(&self.store);
        let written = tokio::task::spawn_blocking(move || put(store.as_ref(), &entry, &request));
        if let Err(error) = written.await {
            tracing::warn!(%error, "cache store task failed");
        }
    }

    /// Returns once every entry queued before the call is on disk.
    pub async fn flush(&self) {
        let Some(queue) = &self.queue else { return };
        let (done, written) = tokio::sync::oneshot::channel();
        // A full queue: wait on the blocking pool for room.
        let queue = queue.clone();
        let sent = tokio::task::spawn_blocking(move || queue.send(Job::Flush(done)).is_ok());
        if matches!(sent.await, Ok(true)) {
            self.wake();
            let _ = written.await;
        }
    }
}

/// The thread: wakes every [`WRITE_INTERVAL`] or when woken, and writes
/// what has queued; ends once the queue's sender is gone and it is empty.
fn write_all(jobs: Receiver<Job>, store: &dyn CacheStore, pending: &Mutex<Pending>, room: &Notify) {
    loop {
        std::thread::park_timeout(WRITE_INTERVAL);
        loop {
            match jobs.try_recv() {
                Ok(job) => handle(job, store, pending),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
            // Room for saves waiting on a full queue, as it is made.
            room.notify_waiters();
        }
    }
}

/// Writes one queued entry, then forgets it as pending (unless a newer
/// answer for its key is pending by then); or answers a flush.
fn handle(job: Job, store: &dyn CacheStore, pending: &Mutex<Pending>) {
    match job {
        Job::Put(key, entry, request) => {
            put(store, &entry, &request);
            let mut pending = lock(pending);
            pending.bytes = pending.bytes.saturating_sub(queued_bytes(&entry, &request));
            if pending
                .entries
                .get(&key)
                .is_some_and(|p| Arc::ptr_eq(p, &entry))
            {
                pending.entries.remove(&key);
            }
        }
        Job::Flush(done) => {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::FileStore;
    use crate::cache::file::tests::key;

    const ANSWER: &str = "{\"choices\":[]}";

    fn entry(key: &CacheKey) -> CacheEntry {
        crate::cache::file::tests::entry(key, ANSWER)
    }

    #[tokio::test]
    async fn a_saved_entry_is_found_at_once_and_on_disk_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn CacheStore> = Arc::new(FileStore::open(dir.path()).unwrap());
        let writer = CacheWriter::start(Arc::clone(&store));
        let key = key(0xab);
        writer.save(entry(&key), Bytes::from_static(b"{}")).await;
        writer.flush().await;
        assert!(
            writer.pending(&key).is_none(),
            "written, so no longer pending"
        );
        let stored = store.get(&key).unwrap().expect("on disk");
        assert_eq!(stored.body, entry(&key).body);
    }

    #[tokio::test]
    async fn a_save_waits_for_room_in_a_full_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn CacheStore> = Arc::new(FileStore::open(dir.path()).unwrap());
        // A queue of one and no thread: this test plays the writer.
        let (queue, jobs) = sync_channel(1);
        let room = Arc::new(Notify::new());
        let writer = Arc::new(CacheWriter {
            queue: Some(queue),
            pending: Arc::default(),
            store,
            thread: None,
            room: Arc::clone(&room),
        });
        let (first, second) = (key(1), key(2));
        writer.save(entry(&first), Bytes::new()).await;
        let waiting = tokio::spawn({
            let writer = Arc::clone(&writer);
            let entry = entry(&second);
            async move { writer.save(entry, Bytes::new()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room: the second save waits");
        assert!(writer.pending(&second).is_none());
        assert!(matches!(jobs.try_recv(), Ok(Job::Put(..))));
        room.notify_waiters();
        waiting.await.unwrap();
        assert!(
            writer.pending(&second).is_some(),
            "queued once there was room"
        );
    }

    #[tokio::test]
    async fn an_entry_waiting_for_its_write_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn CacheStore> = Arc::new(FileStore::open(dir.path()).unwrap());
        // No thread: the queue is this test's, so nothing is written.
        let (queue, jobs) = sync_channel(4);
        let writer = CacheWriter {
            queue: Some(queue),
            pending: Arc::default(),
            store,
            thread: None,
            room: Arc::default(),
        };
        let key = key(0xcd);
        writer.save(entry(&key), Bytes::from_static(b"{}")).await;
        assert_eq!(writer.pending(&key).map(|e| e.body), Some(entry(&key).body));
        assert!(matches!(jobs.try_recv(), Ok(Job::Put(..))));
    }
}
