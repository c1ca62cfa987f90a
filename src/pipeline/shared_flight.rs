//! Single flight across instances: of the instances that miss the same key
//! at once, the one that takes the key's lease in Redis calls upstream; the
//! others wait for its entry to appear in the shared cache and answer from
//! it, instead of calling upstream too.
//!
//! The lease (`PREFIX:flight:{KEY}`, holding the instance's id) lives
//! `[redis] lease_ms` and its holder renews it every third of that while it
//! calls. A leader that stored its answer lets the lease run out (its entry
//! is there by then); one that got no answer to store gives it up at once.
//! When the lease is gone before the answer ended (the leading instance
//! died), a waiter that relayed nothing yet looks in the cache and else
//! leads itself. When Redis cannot answer, an instance goes on alone: it
//! calls upstream as it would without Redis.
//!
//! Waiters relay the leader's answer as it comes, through a Redis stream
//! ([`super::shared_stream`]), so a streamed answer starts at once on
//! every instance.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cache::key::CacheKey;
use crate::cache::redis::RedisPool;
use crate::cache::tiered::SharedHealth;

/// Compare-and-renew, compare-and-delete: only the lease's holder may.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";
const GIVE_UP: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The instance's side of the leases.
#[derive(Debug)]
pub struct SharedFlights {
    pool: Arc<RedisPool>,
    health: Arc<SharedHealth>,
    prefix: String,
    /// This instance's id, written in the leases it holds.
    instance: String,
    lease: Duration,
    renew: redis::Script,
    give_up: redis::Script,
}

/// What a missing instance does.
pub enum Turn {
    /// It leads: call upstream, holding the lease.
    Lead(LeaseGuard),
    /// Another instance leads: relay its answer from the stream.
    Relay,
    /// Redis cannot say (or the wait ran out): go on as without it.
    Alone,
}

impl SharedFlights {
    pub fn new(
        pool: Arc<RedisPool>,
        health: Arc<SharedHealth>,
        prefix: &str,
        lease: Duration,
    ) -> Self {
        Self {
            pool,
            health,
            prefix: prefix.to_string(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            lease,
            renew: redis::Script::new(RENEW),
            give_up: redis::Script::new(GIVE_UP),
        }
    }

    fn name(&self, key: &CacheKey) -> String {
        format!("{}:flight:{{{key}}}", self.prefix)
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Takes the lease if nobody holds it: `Some(true)` taken, `Some(false)`
    /// held by another, `None` Redis cannot say. Blocking.
    fn try_take(&self, key: &CacheKey) -> Option<bool> {
        let name = self.name(key);
        let set: Option<String> = self.health.attempt(|| {
            self.pool.with(|c| {
                redis::cmd("SET")
                    .arg(&name)
                    .arg(&self.instance)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.lease_ms())
                    .query(c)
            })
        })?;
        Some(set.is_some())
    }

    /// Whether somebody holds the lease. Blocking.
    fn held(&self, key: &CacheKey) -> Option<bool> {
        let name = self.name(key);
        let exists: u8 = self
            .health
            .attempt(|| self.pool.with(|c| redis::cmd("EXISTS").arg(&name).query(c)))?;
        Some(exists == 1)
    }

    fn renew(&self, key: &CacheKey) {
        let name = self.name(key);
        let _ = self.health.attempt(|| {
            self.pool.with(|c| {
                self.renew
                    .key(&name)
                    .arg(&self.instance)
                    .arg(self.lease_ms())
                    .invoke::<u8>(c)
            })
        });
    }

    fn give_up(&self, key: &CacheKey) {
        let name = self.name(key);
        let _ = self.health.attempt(|| {
            self.pool
                .with(|c| self.give_up.key(&name).arg(&self.instance).invoke::<u8>(c))
        });
    }

    /// Leads when nobody else does; else relays the leader's answer.
    pub async fn lead_or_relay(self: &Arc<Self>, key: &CacheKey) -> Turn {
        match self.blocking(key, Self::try_take).await {
            Some(true) => Turn::Lead(LeaseGuard::new(Arc::clone(self), key.clone())),
            Some(false) => Turn::Relay,
            None => Turn::Alone,
        }
    }

    /// Whether somebody holds `key`'s lease, off the async threads.
    pub async fn lease_held(self: &Arc<Self>, key: &CacheKey) -> Option<bool> {
        self.blocking(key, Self::held).await
    }

    /// The stream a leader writes its answer to.
    pub fn stream_name(&self, key: &CacheKey) -> String {
        format!("{}:events", self.name(key))
    }

    /// `work` on a pooled connection, unless Redis is down. Blocking.
    pub fn run<T>(
        &self,
        work: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        self.health.attempt(|| self.pool.with(work))
    }

    /// The records after `from` (waiting up to half the command timeout
    /// for some); `None` when Redis cannot answer. Blocking.
    pub fn read_stream(&self, name: &str, from: &str) -> Option<Vec<(String, String, Vec<u8>)>> {
        let block = u64::try_from(self.pool.timeout().as_millis() / 2)
            .unwrap_or(100)
            .max(1);
        let reply: redis::Value = self.run(|c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(256)
                .arg("BLOCK")
                .arg(block)
                .arg("STREAMS")
                .arg(name)
                .arg(from)
                .query(c)
        })?;
        Some(super::shared_stream::records_of(reply))
    }

    /// This instance's lease on `key`, to write its answer to the stream.
    pub fn stream_out(self: &Arc<Self>, key: &CacheKey) -> super::shared_stream::StreamOut {
        super::shared_stream::StreamOut::start(self, key)
    }

    /// `op(self, key)` on the blocking pool.
    async fn blocking(
        self: &Arc<Self>,
        key: &CacheKey,
        op: fn(&Self, &CacheKey) -> Option<bool>,
    ) -> Option<bool> {
        let (flights, key) = (Arc::clone(self), key.clone());
        tokio::task::spawn_blocking(move || op(&flights, &key))
            .await
            .ok()
            .flatten()
    }
}

/// A lease this instance holds: renewed while it lives; given up when
/// dropped unless [`Self::stored`] was called (then it runs out by itself,
/// after the entry is in the shared cache).
pub struct LeaseGuard {
    flights: Arc<SharedFlights>,
    key: CacheKey,
    renewer: tokio::task::JoinHandle<()>,
    stored: bool,
}

impl LeaseGuard {
    fn new(flights: Arc<SharedFlights>, key: CacheKey) -> Self {
        let (renewing, renewed) = (Arc::clone(&flights), key.clone());
        let every = flights.lease / 3;
        let renewer = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tick.tick().await;
                let (flights, key) = (Arc::clone(&renewing), renewed.clone());
                let _ = tokio::task::spawn_blocking(move || flights.renew(&key)).await;
            }
        });
        Self {
            flights,
            key,
            renewer,
            stored: false,
        }
    }

    /// Where the answer is written for the waiters on other instances.
    pub fn stream_out(&self) -> super::shared_stream::StreamOut {
        self.flights.stream_out(&self.key)
    }

    /// The answer is on its way to the shared cache: let the lease run out.
    pub fn stored(&mut self) {
        self.stored = true;
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewer.abort();
        if !self.stored {
            let (flights, key) = (Arc::clone(&self.flights), self.key.clone());
            drop(tokio::task::spawn_blocking(move || flights.give_up(&key)));
        }
    }
}
