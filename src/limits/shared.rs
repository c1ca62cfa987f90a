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
    admit: redis::Script,
    settle: redis::Script,
}

/// How long a spend hash outlives its last change: the month plus margin.
const SPEND_KEPT_SECS: u64 = 40 * 86_400;

/// Admits a request against a key's and the gateway's spend plus their
/// live reservations, and reserves its estimate, in one step. `KEYS`: the
/// key's spend hash, the gateway's, the key's reservations (a sorted set of
/// `id:amount` by expiry), the gateway's. `ARGV`: the day and month
/// fields, the estimate, the key's daily and monthly budgets and the
/// gateway's (negative: none), the reservation, now and its expiry (ms).
/// Answers `{'1', key_day, key_month, gateway_day, gateway_month}` or
/// `{'0', 'key'|'gateway', 'daily'|'monthly', limit, spent}`, all text.
const ADMIT: &str = r"
local function reserved(set)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', ARGV[9])
  local total = 0
  for _, member in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    total = total + (tonumber(string.match(member, ':(.*)$')) or 0)
  end
  return total
end
local estimate = tonumber(ARGV[3])
local figures = {}
local checks = {{KEYS[1], KEYS[3], ARGV[4], ARGV[5], 'key'}, {KEYS[2], KEYS[4], ARGV[6], ARGV[7], 'gateway'}}
for _, c in ipairs(checks) do
  local held = reserved(c[2])
  local day = tonumber(redis.call('HGET', c[1], ARGV[1]) or '0')
  local month = tonumber(redis.call('HGET', c[1], ARGV[2]) or '0')
  for _, p in ipairs({{day, tonumber(c[3]), 'daily'}, {month, tonumber(c[4]), 'monthly'}}) do
    local spent, limit = p[1], p[2]
    if limit >= 0 and (spent + held >= limit or spent + held + estimate > limit) then
      return {'0', c[5], p[3], tostring(limit), tostring(spent)}
    end
  end
  table.insert(figures, tostring(day))
  table.insert(figures, tostring(month))
end
for _, set in ipairs({KEYS[3], KEYS[4]}) do
  redis.call('ZADD', set, ARGV[10], ARGV[8])
  redis.call('PEXPIRE', set, tonumber(ARGV[10]) - tonumber(ARGV[9]) + 1000)
end
return {'1', figures[1], figures[2], figures[3], figures[4]}
";

/// Releases a reservation and adds the request's cost. `KEYS` as
/// [`ADMIT`]'s; `ARGV`: the day and month fields, the reservation, the
/// cost, how long the spend hashes are kept (s).
const SETTLE: &str = r"
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
local cost = tonumber(ARGV[4])
if cost > 0 then
  for _, hash in ipairs({KEYS[1], KEYS[2]}) do
    redis.call('HINCRBYFLOAT', hash, ARGV[1], ARGV[4])
    redis.call('HINCRBYFLOAT', hash, ARGV[2], ARGV[4])
    redis.call('EXPIRE', hash, ARGV[5])
  end
end
return 1
";

impl RedisSpend {
    pub fn new(pool: Arc<RedisPool>, health: Arc<SharedHealth>, prefix: &str) -> Self {
        Self {
            pool,
            health,
            prefix: prefix.to_string(),
            admit: redis::Script::new(ADMIT),
            settle: redis::Script::new(SETTLE),
        }
    }

    fn names(&self, key: &str) -> [String; 2] {
        [
            format!("{}:{{budget}}:key:{key}", self.prefix),
            format!("{}:{{budget}}:gateway", self.prefix),
        ]
    }

    /// The reservation sets, in [`ADMIT`]'s order.
    fn reservation_sets(&self, key: &str) -> [String; 2] {
        [
            format!("{}:{{budget}}:reserved:key:{key}", self.prefix),
            format!("{}:{{budget}}:reserved:gateway", self.prefix),
        ]
    }
}

impl crate::budgets::shared::SharedSpend for RedisSpend {
    fn admit(
        &self,
        a: &crate::budgets::shared::Admission<'_>,
    ) -> Option<crate::budgets::shared::Verdict> {
        use crate::budgets::shared::{SharedFigures, Verdict};
        let [own, gateway] = self.names(a.key);
        let [own_held, gateway_held] = self.reservation_sets(a.key);
        let limit = |usd: Option<f64>| usd.unwrap_or(-1.0);
        let hold =
            i64::try_from(crate::budgets::shared::RESERVATION_HOLD.as_millis()).unwrap_or(i64::MAX);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let member = format!("{id}:{}", a.estimate_usd);
        let mut call = self.admit.prepare_invoke();
        call.key(&own)
            .key(&gateway)
            .key(&own_held)
            .key(&gateway_held)
            .arg(format!("d:{}", a.day))
            .arg(format!("m:{}", a.month))
            .arg(a.estimate_usd)
            .arg(limit(a.own.daily_usd))
            .arg(limit(a.own.monthly_usd))
            .arg(limit(a.gateway.daily_usd))
            .arg(limit(a.gateway.monthly_usd))
            .arg(&member)
            .arg(a.now_ms)
            .arg(a.now_ms.saturating_add(hold));
        let answer: Vec<String> = self.health.attempt(|| self.pool.with(|c| call.invoke(c)))?;
        let number = |i: usize| {
            answer
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Some(match answer.first().map(String::as_str) {
            Some("1") => Verdict::Admitted(
                member,
                SharedFigures {
                    key_day: number(1),
                    key_month: number(2),
                    gateway_day: number(3),
                    gateway_month: number(4),
                },
            ),
            _ => Verdict::Refused {
                gateway: answer.get(1).is_some_and(|who| who == "gateway"),
                period: match answer.get(2).map(String::as_str) {
                    Some("monthly") => "monthly",
                    _ => "daily",
                },
                limit: number(3),
                spent: number(4),
            },
        })
    }

    fn settle(&self, key: &str, reservation: &str, day: i64, month: i64, cost_usd: f64) {
        let [own, gateway] = self.names(key);
        let [own_held, gateway_held] = self.reservation_sets(key);
        let mut call = self.settle.prepare_invoke();
        call.key(&own)
            .key(&gateway)
            .key(&own_held)
            .key(&gateway_held)
            .arg(format!("d:{day}"))
            .arg(format!("m:{month}"))
            .arg(reservation)
            .arg(cost_usd)
            .arg(SPEND_KEPT_SECS);
        if self
            .health
            .attempt(|| self.pool.with(|c| call.invoke::<u8>(c)))
            .is_none()
        {
            tracing::warn!(
                key,
                cost_usd,
                "a request's cost could not be settled in the shared spend"
            );
        }
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
