//! Requests per minute counted in Redis, so a key's limit holds for every
//! instance together. The same rule as the local limiter (a minute's
//! allowance usable at once, then one more every `60 / rpm` seconds: GCRA)
//! runs as one server-side script on the key `PREFIX:rpm:{KEY}` (the
//! braces make it a Redis Cluster hash tag), timed by Redis's own clock so
//! instances need not agree on theirs.
//!
//! When Redis cannot answer (down, slow past the timeout, or left alone
//! after a failure), [`SharedRpm::check`] says so and the caller falls back
//! to this instance's own limiter: a request never fails because Redis did.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::redis::RedisPool;
use crate::cache::tiered::SharedHealth;

/// GCRA: `KEYS[1]` holds the theoretical arrival time (ms); `ARGV[1]` is
/// the limit per minute. Answers `{1, 0}` when the request may go, `{0,
/// wait_ms}` when not.
const GCRA: &str = r"
local rpm = tonumber(ARGV[1])
local interval = 60000 / rpm
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next = tat + interval
local over = next - now - 60000
if over > 0 then return {0, math.ceil(over)} end
redis.call('SET', KEYS[1], tostring(next), 'PX', math.ceil(next - now) + 1000)
return {1, 0}
";

/// The shared requests-per-minute limiter.
#[derive(Debug)]
pub struct SharedRpm {
    pool: Arc<RedisPool>,
    health: Arc<SharedHealth>,
    prefix: String,
    script: redis::Script,
}

impl SharedRpm {
    pub fn new(pool: Arc<RedisPool>, health: Arc<SharedHealth>, prefix: &str) -> Self {
        Self {
            pool,
            health,
            prefix: prefix.to_string(),
            script: redis::Script::new(GCRA),
        }
    }

    /// Counts one request of `key` against `rpm` a minute across every
    /// instance: `Some(Ok(()))` it may go, `Some(Err(wait))` it may not
    /// (for `wait`), `None` Redis could not say. Blocking.
    pub fn check(&self, key: &str, rpm: u32) -> Option<Result<(), Duration>> {
        let name = format!("{}:rpm:{{{key}}}", self.prefix);
        let (allowed, wait_ms): (u8, u64) = self.health.attempt(|| {
            self.pool
                .with(|c| self.script.key(&name).arg(rpm).invoke(c))
        })?;
        Some(match allowed {
            1 => Ok(()),
            _ => Err(Duration::from_millis(wait_ms.max(1))),
        })
    }
}
