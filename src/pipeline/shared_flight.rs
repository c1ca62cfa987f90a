//! Single flight across instances: of the instances that miss the same key
//! at once, the one that takes the key's lease in Redis calls upstream; the
//! others wait for its entry to appear in the shared cache and answer from
//! it, instead of calling upstream too.
//!
//! The lease (`PREFIX:flight:{KEY}`, holding the instance's id) lives
//! `[redis] lease_ms` and its holder renews it every third of that while it
//! calls. A leader that stored its answer lets the lease run out (its entry
//! is there by then); one that got no answer to store gives it up at once.
//! A waiter checks every [`POLL`] for the entry and for the lease: when the
//! lease is gone without an entry (the leader failed, or its instance died)
//! it tries to take it and lead itself. When Redis cannot answer, an
//! instance goes on alone: it calls upstream as it would without Redis.
//!
//! Waiters get the answer once it is stored, not chunk by chunk: a stream
//! waiter starts when the leader's stream has ended (then replayed at once).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cache::CacheEntry;
use crate::cache::key::CacheKey;
use crate::cache::redis::RedisPool;
use crate::cache::tiered::SharedHealth;

/// How often a waiter looks for the leader's entry.
pub const POLL: Duration = Duration::from_millis(20);

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
    /// Another instance's answer is in the cache (boxed: an entry's
    /// metadata is large beside the other turns).
    Entry(Box<CacheEntry>),
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

    /// Leads, or waits for another instance's entry (looked up with
    /// `entry`) for at most `patience`.
    pub async fn lead_or_wait<F, Fut>(
        self: &Arc<Self>,
        key: &CacheKey,
        patience: Duration,
        entry: F,
    ) -> Turn
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Option<CacheEntry>>,
    {
        let deadline = Instant::now() + patience;
        loop {
            match self.blocking(key, Self::try_take).await {
                Some(true) => return Turn::Lead(LeaseGuard::new(Arc::clone(self), key.clone())),
                Some(false) => {}
                None => return Turn::Alone,
            }
            loop {
                if Instant::now() >= deadline {
                    return Turn::Alone;
                }
                tokio::time::sleep(POLL).await;
                if let Some(found) = entry().await {
                    return Turn::Entry(Box::new(found));
                }
                match self.blocking(key, Self::held).await {
                    Some(true) => continue,
                    // Gone without an entry: try to lead in its place.
                    Some(false) => break,
                    None => return Turn::Alone,
                }
            }
        }
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
