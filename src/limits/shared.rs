//! State shared by every instance through Redis: requests per minute
//! ([`SharedRpm`]) and spend against budgets ([`RedisSpend`]).
//!
//! Requests per minute are counted in Redis, so a key's limit holds for
//! every instance together. The same rule as the local limiter (a minute's
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

/// Spend against budgets kept in Redis ([`crate::budgets::shared`]): per
/// key and for the gateway, one hash each, `PREFIX:{budget}:key:NAME` and
/// `PREFIX:{budget}:gateway` (one hash tag, so one Cluster slot), with a
/// field per UTC day (`d:DAY`) and month (`m:MONTH`). A hash expires 40
/// days after its last change, so old days go away by themselves.
#[derive(Debug)]
pub struct RedisSpend {
    pool: Arc<RedisPool>,
    health: Arc<SharedHealth>,
    prefix: String,
}

/// How long a spend hash outlives its last change: the month plus margin.
const SPEND_KEPT_SECS: u64 = 40 * 86_400;

impl RedisSpend {
    pub fn new(pool: Arc<RedisPool>, health: Arc<SharedHealth>, prefix: &str) -> Self {
        Self {
            pool,
            health,
            prefix: prefix.to_string(),
        }
    }

    fn names(&self, key: &str) -> [String; 2] {
        [
            format!("{}:{{budget}}:key:{key}", self.prefix),
            format!("{}:{{budget}}:gateway", self.prefix),
        ]
    }
}

impl crate::budgets::shared::SharedSpend for RedisSpend {
    fn read(
        &self,
        key: &str,
        day: i64,
        month: i64,
    ) -> Option<crate::budgets::shared::SharedFigures> {
        let [own, gateway] = self.names(key);
        let (day, month) = (format!("d:{day}"), format!("m:{month}"));
        let (own, gateway): (Vec<Option<f64>>, Vec<Option<f64>>) = self.health.attempt(|| {
            self.pool.with(|c| {
                redis::pipe()
                    .cmd("HMGET")
                    .arg(&own)
                    .arg(&day)
                    .arg(&month)
                    .cmd("HMGET")
                    .arg(&gateway)
                    .arg(&day)
                    .arg(&month)
                    .query(c)
            })
        })?;
        let at = |values: &[Option<f64>], i: usize| values.get(i).copied().flatten().unwrap_or(0.0);
        Some(crate::budgets::shared::SharedFigures {
            key_day: at(&own, 0),
            key_month: at(&own, 1),
            gateway_day: at(&gateway, 0),
            gateway_month: at(&gateway, 1),
        })
    }

    fn add(&self, key: &str, day: i64, month: i64, cost_usd: f64) {
        let (day, month) = (format!("d:{day}"), format!("m:{month}"));
        let mut pipe = redis::pipe();
        pipe.atomic();
        for name in self.names(key) {
            pipe.cmd("HINCRBYFLOAT")
                .arg(&name)
                .arg(&day)
                .arg(cost_usd)
                .ignore();
            pipe.cmd("HINCRBYFLOAT")
                .arg(&name)
                .arg(&month)
                .arg(cost_usd)
                .ignore();
            pipe.cmd("EXPIRE").arg(&name).arg(SPEND_KEPT_SECS).ignore();
        }
        if self
            .health
            .attempt(|| self.pool.with(|c| pipe.query::<()>(c)))
            .is_none()
        {
            tracing::warn!(
                key,
                cost_usd,
                "a request's cost could not be added to the shared spend"
            );
        }
    }
}
