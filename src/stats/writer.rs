//! The writer thread of the usage store: batches, one transaction per
//! batch, retention deletes, errors counted and logged but never fatal. See
//! [`super::store`] for why it is a thread and what its limits are.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};

use super::store::{Message, Shared, Tuning, WARNING_INTERVAL_MS, now_ms};
use crate::usage::UsageRecord;

const INSERT: &str = "INSERT INTO requests (time_ms, request_id, key_name, provider, \
    model_asked, model_answered, stream, cache, status, prompt_tokens, completion_tokens, \
    cached_tokens, estimated, cost_usd, cost_saved_usd, ttfb_ms, total_ms, \
    cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, provider_cache_saved_usd, \
    endpoint, error, cache_key, instance) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
    ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)";

/// Where the writer writes: this instance's SQLite file, or the PostgreSQL
/// database every instance writes to (reconnected after a failure).
pub(super) enum Ledger {
    Sqlite(Connection),
    Postgres {
        url: String,
        /// Boxed: a client is large beside a SQLite connection.
        client: Option<Box<postgres::Client>>,
    },
}

pub(super) struct Writer {
    pub(super) ledger: Ledger,
    /// This instance's name, in every row.
    pub(super) instance: Option<String>,
    pub(super) shared: Arc<Shared>,
    pub(super) retention: Duration,
    pub(super) tuning: Tuning,
    pub(super) last_failure_warning: Option<Instant>,
}

impl Writer {
    /// Wakes every flush interval (or when unparked for a flush or the
    /// stop) and writes what has queued up. It never waits on the channel
    /// itself: a receiver blocked in `recv` makes every `record` a futex
    /// wake-up and a context switch, which cost a request more than the
    /// rest of its accounting together.
    pub(super) fn run(mut self, receiver: &Receiver<Message>) {
        self.prune();
        let mut next_prune = Instant::now() + self.tuning.prune_interval;
        let mut batch = Vec::with_capacity(self.tuning.batch_max);
        let mut flushes = Vec::new();
        loop {
            let wake = (Instant::now() + self.tuning.flush_interval).min(next_prune);
            std::thread::park_timeout(wake.saturating_duration_since(Instant::now()));
            let stop = self.drain(receiver, &mut batch, &mut flushes);
            self.write(&mut batch);
            answer(&mut flushes);
            if Instant::now() >= next_prune {
                self.prune();
                next_prune = Instant::now() + self.tuning.prune_interval;
            }
            if stop || self.shared.stopping.load(Ordering::Acquire) {
                break;
            }
        }
        // `record` refuses new records once `stopping` is set, so this ends.
        self.drain(receiver, &mut batch, &mut flushes);
        self.write(&mut batch);
        answer(&mut flushes);
    }

    /// Takes everything queued, writing full batches on the way. Returns
    /// whether the store is stopping.
    fn drain(
        &mut self,
        receiver: &Receiver<Message>,
        batch: &mut Vec<UsageRecord>,
        flushes: &mut Vec<Sender<()>>,
    ) -> bool {
        let mut stop = false;
        loop {
            match receiver.try_recv() {
                Ok(Message::Record(record)) => {
                    batch.push(*record);
                    if batch.len() >= self.tuning.batch_max {
                        self.write(batch);
                    }
                }
                Ok(Message::Flush(done)) => flushes.push(done),
                Ok(Message::Stop) => stop = true,
                Err(TryRecvError::Empty) => return stop,
                Err(TryRecvError::Disconnected) => return true,
            }
        }
    }

    /// Writes and empties the batch.
    fn write(&mut self, batch: &mut Vec<UsageRecord>) {
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        let instance = self.instance.as_deref();
        let result = match &mut self.ledger {
            Ledger::Sqlite(connection) => {
                insert(connection, batch, instance).map_err(|e| e.to_string())
            }
            Ledger::Postgres { url, client } => write_postgres(url, client, batch, instance),
        };
        match result {
            Ok(()) => {
                self.shared.written.fetch_add(count, Ordering::Relaxed);
            }
            Err(error) => {
                let failed = self.shared.failed.fetch_add(count, Ordering::Relaxed) + count;
                self.warn_failure(&format!(
                    "cannot write {count} records to {}: {error} ({failed} lost so far)",
                    self.shared.path.display()
                ));
            }
        }
        batch.clear();
    }

    fn prune(&mut self) {
        let retention_ms = i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms().saturating_sub(retention_ms);
        let deleted = match &mut self.ledger {
            Ledger::Sqlite(connection) => connection
                .execute("DELETE FROM requests WHERE time_ms < ?1", [cutoff])
                .map_err(|e| e.to_string()),
            Ledger::Postgres {
                client: Some(client),
                ..
            } => super::postgres::prune(client, cutoff)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .map_err(|e| e.to_string()),
            Ledger::Postgres { client: None, .. } => Ok(0),
        };
        match deleted {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "usage statistics: deleted old rows"),
            Err(error) => self.warn_failure(&format!(
                "cannot delete old rows from {}: {error}",
                self.shared.path.display()
            )),
        }
    }

    fn warn_failure(&mut self, message: &str) {
        let due = self
            .last_failure_warning
            .is_none_or(|at| at.elapsed().as_millis() >= WARNING_INTERVAL_MS as u128);
        if due {
            tracing::warn!("usage statistics: {message}");
            self.last_failure_warning = Some(Instant::now());
        }
    }
}

/// A batch to PostgreSQL, connecting first when there is no connection;
/// a failed connection is dropped, to be made again for the next batch.
fn write_postgres(
    url: &str,
    client: &mut Option<Box<postgres::Client>>,
    batch: &[UsageRecord],
    instance: Option<&str>,
) -> Result<(), String> {
    if client.as_ref().is_none_or(|client| client.is_closed()) {
        *client = Some(Box::new(
            super::postgres::connect(url).map_err(|e| e.to_string())?,
        ));
    }
    let Some(connected) = client.as_mut() else {
        return Err("no connection".into());
    };
    let result = super::postgres::insert(connected, batch, instance.unwrap_or_default());
    if result.is_err() {
        *client = None;
    }
    result.map_err(|e| e.to_string())
}

fn insert(
    connection: &mut Connection,
    batch: &[UsageRecord],
    instance: Option<&str>,
) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = transaction.prepare_cached(INSERT)?;
        for r in batch {
            statement.execute(params![
                r.time_ms,
                r.request_id,
                r.key_name,
                r.provider,
                r.model_asked,
                r.model_answered,
                r.stream,
                r.cache.map(|c| c.as_str()),
                r.status,
                r.prompt_tokens.map(to_i64),
                r.completion_tokens.map(to_i64),
                r.cached_tokens.map(to_i64),
                r.estimated,
                r.cost_usd,
                r.cost_saved_usd,
                r.ttfb_ms,
                r.total_ms,
                r.cache_write_tokens.map(to_i64),
                r.cache_write_1h_tokens.map(to_i64),
                r.reasoning_tokens.map(to_i64),
                r.provider_cache_saved_usd,
                r.endpoint,
                r.error,
                r.cache_key,
                instance,
            ])?;
        }
    }
    transaction.commit()
}

/// SQLite integers are signed; no token count comes near the limit.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Tells everyone who asked for a flush that what they queued is written.
fn answer(flushes: &mut Vec<Sender<()>>) {
    for done in flushes.drain(..) {
        let _ = done.send(());
    }
}
