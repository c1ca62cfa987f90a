//! State shared by every instance through Redis: requests and tokens per
//! minute ([`SharedRpm`]) and spend against budgets ([`RedisSpend`]).
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

/// Tokens per minute: `KEYS[1]` is a hash of the balance (tokens) and the
/// time it was brought up to (ms); `ARGV[1]` the limit, `ARGV[2]` what to
/// take (negative: give back), `ARGV[3]` 1 to take only from a positive
/// balance (a reservation), 0 to settle whatever the balance. The same
/// rules as the local bucket: a minute's allowance at most, refilled
/// continuously, and debt allowed. Answers `{1, 0}`, or `{0, wait_ms}`.
const TOKENS: &str = r"
local tpm = tonumber(ARGV[1])
local take = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local balance = tonumber(redis.call('HGET', KEYS[1], 'balance') or tpm)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
balance = math.min(tpm, balance + (now - at) * tpm / 60000)
if ARGV[3] == '1' and balance <= 0 then
  return {0, math.ceil(-balance * 60000 / tpm) + 1}
end
balance = math.min(tpm, balance - take)
redis.call('HSET', KEYS[1], 'balance', tostring(balance), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000 + math.ceil(math.max(0, -balance) * 60000 / tpm))
return {1, 0}
";

/// The shared requests- and tokens-per-minute limiter.
#[derive(Debug)]
pub struct SharedRpm {
    pool: Arc<RedisPool>,
    health: Arc<SharedHealth>,
    prefix: String,
    script: redis::Script,
    tokens: redis::Script,
}

impl SharedRpm {
    pub fn new(pool: Arc<RedisPool>, health: Arc<SharedHealth>, prefix: &str) -> Self {
        Self {
            pool,
            health,
            prefix: prefix.to_string(),
            script: redis::Script::new(GCRA),
            tokens: redis::Script::new(TOKENS),
        }
    }

    /// Takes `estimate` tokens of `key`'s `tpm` across every instance, if
    /// its balance is positive: as [`Self::check`] answers. Blocking.
    pub fn reserve_tokens(
        &self,
        key: &str,
        tpm: u64,
        estimate: u64,
    ) -> Option<Result<(), Duration>> {
        self.tokens_call(key, tpm, i128::from(estimate), true)
    }

    /// Replaces a reserved estimate with the tokens really used (into
    /// debt if need be). Blocking; a Redis that cannot answer loses the
    /// correction (the estimate stays charged).
    pub fn settle_tokens(&self, key: &str, tpm: u64, reserved: u64, actual: u64) {
        let take = i128::from(actual) - i128::from(reserved);
        if take != 0 {
            let _ = self.tokens_call(key, tpm, take, false);
        }
    }

    fn tokens_call(
        &self,
        key: &str,
        tpm: u64,
        take: i128,
        reserve: bool,
    ) -> Option<Result<(), Duration>> {
        let name = format!("{}:tpm:{{{key}}}", self.prefix);
        let (allowed, wait_ms): (u8, u64) = self.health.attempt(|| {
            self.pool.with(|c| {
                self.tokens
                    .key(&name)
                    .arg(tpm)
                    .arg(take.to_string())
                    .arg(u8::from(reserve))
                    .invoke(c)
            })
        })?;
        Some(match allowed {
            1 => Ok(()),
            _ => Err(Duration::from_millis(wait_ms.max(1))),
        })
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
