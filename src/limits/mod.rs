//! Per-caller rate limits: requests per minute and tokens per minute.
//!
//! Owns the limiter state of every caller (an access key's name) and the
//! decision to let a request or an upstream call through. It does not know
//! HTTP: the request path turns a [`RateLimited`] into a 429 with
//! `Retry-After` and an OpenAI-style `rate_limit_exceeded` error, and
//! decides what counts (cache hits count as requests but never reserve
//! tokens).
//!
//! Requests per minute use governor's GCRA with a burst of the whole
//! minute: a caller may send its minute's allowance at once, then one more
//! every `60 / rpm` seconds.
//!
//! Tokens per minute use our own bucket ([`bucket`]) because governor can
//! neither charge after the fact nor go into debt, and both are needed:
//! the prompt is only estimated before the call, and the completion, known
//! afterwards, can cost far more. The bucket holds one minute's allowance,
//! refills continuously, lets a reservation through whenever its balance is
//! positive (so a prompt larger than the whole allowance can pass once),
//! and settles to the real usage afterwards, into debt if need be; the next
//! reservation then waits until the debt is paid back.
//!
//! Invariants: callers without any limit cost nothing (no state, no map
//! entry); a caller's state is made on first use and kept, per limiter,
//! across [`RateLimits::reconfigure`] while that limiter's number is
//! unchanged; every limiter reads the one [`LimitClock`].

mod bucket;
mod clock;
mod refusal;
pub mod shared;

use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::{Arc, Mutex, PoisonError};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use bucket::TokenBucket;
pub use clock::{LimitClock, ManualClock};
pub use refusal::{LimitKind, RateLimited};

pub use crate::config::LimitConfig;

type RequestLimiter = RateLimiter<NotKeyed, InMemoryState, LimitClock, NoOpMiddleware<Nanos>>;

/// A request limiter with the number it was built for, so a reload can
/// tell whether to keep it.
#[derive(Debug)]
struct Requests {
    rpm: NonZeroU32,
    limiter: RequestLimiter,
}

/// The limiters of one caller; `None` where that limit is off.
#[derive(Debug)]
struct CallerState {
    requests: Option<Arc<Requests>>,
    tokens: Option<Arc<TokenBucket>>,
}

/// One caller's limits as the dashboard shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LimitView {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    /// Tokens that may be spent now (negative in debt), with a TPM limit.
    pub tokens_available: Option<i64>,
    /// Whether the caller has used a limit since it was configured.
    pub active: bool,
}

/// Every caller's limits and limiter state. Share it behind an `Arc`.
#[derive(Debug)]
pub struct RateLimits {
    default: LimitConfig,
    per_key: HashMap<String, LimitConfig>,
    clock: LimitClock,
    // Access keys are few and the lock is held only to look one up or add
    // it, never while a limiter runs, so one map lock does not contend.
    callers: Mutex<HashMap<String, Arc<CallerState>>>,
    empty: bool,
}

impl RateLimits {
    /// `default` applies to every caller; `per_key` (by key id, e.g. the
    /// access key's name) replaces it for that caller.
    pub fn new(
        default: LimitConfig,
        per_key: HashMap<String, LimitConfig>,
        clock: LimitClock,
    ) -> Self {
        let empty = default.is_unlimited() && per_key.values().all(LimitConfig::is_unlimited);
        Self {
            default,
            per_key,
            clock,
            callers: Mutex::new(HashMap::new()),
            empty,
        }
    }

    /// The requests-per-minute limit of `caller`, if it has one.
    pub fn rpm_of(&self, caller: &str) -> Option<NonZeroU32> {
        self.config_for(caller).requests_per_minute
    }

    /// The tokens-per-minute limit of `caller`, if it has one.
    pub fn tpm_of(&self, caller: &str) -> Option<NonZeroU64> {
        self.config_for(caller).tokens_per_minute
    }

    /// Counts one request for `caller` (called for every chat request,
    /// cache hits included).
    pub fn check_request(&self, caller: &str) -> Result<(), RateLimited> {
        let Some(requests) = self.caller(caller).and_then(|c| c.requests.clone()) else {
            return Ok(());
        };
        requests.limiter.check().map_err(|not_until| RateLimited {
            kind: LimitKind::Requests,
            retry_after: not_until.wait_time_from(self.clock.now()),
            limit: u64::from(requests.rpm.get()),
        })
    }

    /// Reserves the estimated prompt tokens before an upstream call (cache
    /// hits never call this).
    pub fn reserve_tokens(
        &self,
        caller: &str,
        estimate: u64,
    ) -> Result<TokenReservation, RateLimited> {
        let Some(bucket) = self.caller(caller).and_then(|c| c.tokens.clone()) else {
            return Ok(TokenReservation {
                bucket: None,
                shared: None,
                estimate,
            });
        };
        match bucket.reserve(estimate) {
            Ok(()) => Ok(TokenReservation {
                bucket: Some(bucket),
                shared: None,
                estimate,
            }),
            Err(retry_after) => Err(RateLimited {
                kind: LimitKind::Tokens,
                retry_after,
                limit: bucket.tpm().get(),
            }),
        }
    }

    /// A new RateLimits for a changed configuration that keeps the current
    /// state (used allowance) of every caller whose LimitConfig is
    /// unchanged, so a config reload does not reset limits. Finer still:
    /// each limiter whose own number is unchanged is kept, so changing a
    /// key's TPM does not reset its RPM.
    pub fn reconfigure(&self, default: LimitConfig, per_key: HashMap<String, LimitConfig>) -> Self {
        let next = Self::new(default, per_key, self.clock.clone());
        let old = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut carried = HashMap::new();
        for (name, state) in old.iter() {
            let config = next.config_for(name);
            if let Some(state) = state.carry_over(config, &self.clock) {
                carried.insert(name.clone(), Arc::new(state));
            }
        }
        drop(old);
        Self {
            callers: Mutex::new(carried),
            ..next
        }
    }

    /// No limits configured at all (the request path can skip this module).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// What `caller` is allowed and, for tokens, has left now: for the
    /// dashboard. Reading it makes no state for a caller that has none.
    pub fn view(&self, caller: &str) -> LimitView {
        let config = self.config_for(caller);
        let state = self
            .callers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(caller)
            .cloned();
        let tokens_available = match state.as_ref().and_then(|s| s.tokens.as_ref()) {
            Some(bucket) => bucket.available(),
            None => config
                .tokens_per_minute
                .map_or(0, |tpm| i64::try_from(tpm.get()).unwrap_or(i64::MAX)),
        };
        LimitView {
            requests_per_minute: config.requests_per_minute.map(NonZeroU32::get),
            tokens_per_minute: config.tokens_per_minute.map(NonZeroU64::get),
            tokens_available: config.tokens_per_minute.map(|_| tokens_available),
            active: state.is_some(),
        }
    }

    fn config_for(&self, caller: &str) -> LimitConfig {
        self.per_key.get(caller).copied().unwrap_or(self.default)
    }

    /// The caller's state, made on first use; `None` for unlimited callers.
    fn caller(&self, caller: &str) -> Option<Arc<CallerState>> {
        if self.empty {
            return None;
        }
        let config = self.config_for(caller);
        if config.is_unlimited() {
            return None;
        }
        let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = callers.get(caller) {
            return Some(Arc::clone(state));
        }
        let state = Arc::new(CallerState::new(config, &self.clock));
        callers.insert(caller.to_owned(), Arc::clone(&state));
        Some(state)
    }
}

impl CallerState {
    fn new(config: LimitConfig, clock: &LimitClock) -> Self {
        Self {
            requests: config
                .requests_per_minute
                .map(|rpm| new_requests(rpm, clock)),
            tokens: config.tokens_per_minute.map(|tpm| new_tokens(tpm, clock)),
        }
    }

    /// The state under `config`, keeping each limiter whose number is
    /// unchanged; `None` when nothing is kept (it is made afresh on use).
    fn carry_over(&self, config: LimitConfig, clock: &LimitClock) -> Option<Self> {
        let requests = self
            .requests
            .as_ref()
            .filter(|r| Some(r.rpm) == config.requests_per_minute)
            .cloned();
        let tokens = self
            .tokens
            .as_ref()
            .filter(|t| Some(t.tpm()) == config.tokens_per_minute)
            .cloned();
        if requests.is_none() && tokens.is_none() {
            return None;
        }
        Some(Self {
            requests: requests
                .or_else(|| config.requests_per_minute.map(|n| new_requests(n, clock))),
            tokens: tokens.or_else(|| config.tokens_per_minute.map(|n| new_tokens(n, clock))),
        })
    }
}

fn new_requests(rpm: NonZeroU32, clock: &LimitClock) -> Arc<Requests> {
    Arc::new(Requests {
        rpm,
        limiter: RateLimiter::direct_with_clock(Quota::per_minute(rpm), clock.clone()),
    })
}

fn new_tokens(tpm: NonZeroU64, clock: &LimitClock) -> Arc<TokenBucket> {
    Arc::new(TokenBucket::new(tpm, clock.clone()))
}

/// Holds the estimate; `settle` charges the real usage. Dropping it without
/// settling keeps the estimate charged (the upstream may have billed it).
#[derive(Debug)]
#[must_use = "settle the reservation with the real usage once it is known"]
pub struct TokenReservation {
    /// `None` when the caller has no token limit (or it is kept in Redis).
    bucket: Option<Arc<TokenBucket>>,
    /// The limit in Redis the estimate was taken from: `(limiter, key, tpm)`.
    shared: Option<(Arc<shared::SharedRpm>, String, u64)>,
    estimate: u64,
}

impl TokenReservation {
    /// Replaces the estimate with the real usage: charges the excess
    /// (possibly into debt) or refunds the rest. A reservation made before a
    /// reload settles against the bucket it was taken from.
    pub fn settle(self, actual_tokens: u64) {
        if let Some(bucket) = &self.bucket {
            bucket.settle(self.estimate, actual_tokens);
        }
        if let Some((limiter, key, tpm)) = self.shared {
            let estimate = self.estimate;
            let settle = move || limiter.settle_tokens(&key, tpm, estimate, actual_tokens);
            // Settled where an answer ends, on an async thread: the round
            // trip goes to the blocking pool.
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(settle)),
                Err(_) => settle(),
            }
        }
    }

    /// A reservation taken from `key`'s `tpm` in Redis.
    pub fn shared(limiter: Arc<shared::SharedRpm>, key: String, tpm: u64, estimate: u64) -> Self {
        Self {
            bucket: None,
            shared: Some((limiter, key, tpm)),
            estimate,
        }
    }

    /// The estimate this reservation charged.
    pub fn estimate(&self) -> u64 {
        self.estimate
    }
}

#[cfg(test)]
mod tests;
