//! Spend budgets: how much the gateway and each access key have spent with
//! providers today and this month (UTC), against what they may.
//!
//! Owns the ledger and the decision to admit a request. It does not know
//! HTTP or prices: the pipeline estimates a request's cost and turns an
//! [`Exceeded`] into a 429 `budget_exceeded`; the request's usage record
//! settles its [`Reservation`] with what it really cost.
//!
//! A request is admitted while its key's (and the gateway's) spend plus the
//! reservations of requests in flight plus its own estimate stays within
//! every budget that applies. Admitted, it reserves its estimate (the
//! prompt at the model's input price: the answer's length is unknown
//! before it comes), and settles to its real cost when it ends, so a burst
//! overshoots a budget by at most what the admitted requests' answers cost
//! beyond their estimates. A cache hit costs 0; a model without a price
//! counts 0 (it cannot be priced).
//!
//! With Redis the spend is also kept there for every instance
//! ([`shared`]): admitting reads it, settling adds to it.
//!
//! Invariants: with no budget configured nothing here runs; the ledger
//! (spend and reservations) outlives reloads, which only change the
//! budgets; spend rolls over at UTC midnight and on the 1st of the month.

mod period;
pub mod shared;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

pub use crate::config::{Budget, BudgetsConfig};
use period::Period;
use shared::SharedSpend;

/// The budgets now and the ledger they are checked against.
#[derive(Debug)]
pub struct Budgets {
    config: BudgetsConfig,
    ledger: Arc<Ledger>,
    /// Spend shared with other instances, when there is a place for it.
    shared: Option<Arc<dyn SharedSpend>>,
}

#[derive(Debug)]
struct Ledger {
    state: Mutex<State>,
    /// Unix ms now; tests set their own.
    clock: fn() -> i64,
}

#[derive(Debug, Default)]
struct State {
    gateway: Spend,
    keys: HashMap<String, Spend>,
}

/// One spender's figures, for the day and month they were counted in.
#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    day: i64,
    day_usd: f64,
    month: i64,
    month_usd: f64,
    /// Estimates of the requests in flight.
    reserved_usd: f64,
}

impl Spend {
    /// Starts a new day or month when `now` is in one.
    fn roll(&mut self, now: &Period) {
        if self.day != now.day {
            self.day = now.day;
            self.day_usd = 0.0;
        }
        if self.month != now.month {
            self.month = now.month;
            self.month_usd = 0.0;
        }
    }

    /// The first of `budget`'s limits that `estimate` more would pass.
    fn over(&self, budget: &Budget, estimate: f64) -> Option<(&'static str, f64, f64)> {
        let committed = |spent: f64| spent + self.reserved_usd;
        let passes = |spent: f64, limit: f64| {
            committed(spent) >= limit || committed(spent) + estimate > limit
        };
        if let Some(limit) = budget.daily_usd
            && passes(self.day_usd, limit)
        {
            return Some(("daily", limit, self.day_usd));
        }
        match budget.monthly_usd {
            Some(limit) if passes(self.month_usd, limit) => {
                Some(("monthly", limit, self.month_usd))
            }
            _ => None,
        }
    }
}

/// Why a request was refused: the message names the budget and when it
/// resets; `retry_after` is the time until then.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceeded {
    pub message: String,
    pub retry_after: Duration,
}

impl Budgets {
    pub fn new(config: BudgetsConfig) -> Self {
        Self::with_clock(config, now_ms)
    }

    /// A ledger on its own clock (Unix ms).
    pub fn with_clock(config: BudgetsConfig, clock: fn() -> i64) -> Self {
        Self {
            config,
            ledger: Arc::new(Ledger {
                state: Mutex::default(),
                clock,
            }),
            shared: None,
        }
    }

    /// The same budgets, their spend also kept in `shared` (see
    /// [`shared`]).
    pub fn with_shared(mut self, shared: Arc<dyn SharedSpend>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Whether spend is shared (admitting then asks the shared store, which
    /// blocks).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The same ledger under changed budgets (a reload).
    pub fn reconfigure(&self, config: BudgetsConfig) -> Self {
        Self {
            config,
            ledger: Arc::clone(&self.ledger),
            shared: self.shared.clone(),
        }
    }

    /// No budget at all: the request path skips budgets.
    pub fn is_empty(&self) -> bool {
        self.config.is_empty()
    }

    /// Adds spend found elsewhere (the usage database at start-up): per
    /// key id (`None` for requests without a key), today's and this
    /// month's cost.
    pub fn seed(&self, spent: &[(Option<String>, f64, f64)]) {
        let now = Period::at((self.ledger.clock)());
        let mut state = self.ledger.lock();
        for (key, day_usd, month_usd) in spent {
            let add = |spend: &mut Spend| {
                spend.roll(&now);
                spend.day_usd += day_usd;
                spend.month_usd += month_usd;
            };
            add(&mut state.gateway);
            if let Some(key) = key {
                add(state.keys.entry(key.clone()).or_default());
            }
        }
    }

    /// Admits a request of the caller `key` estimated to cost
    /// `estimate_usd`, reserving the estimate, or says which budget it
    /// would pass.
    pub fn admit(&self, key: &str, estimate_usd: f64) -> Result<Reservation, Exceeded> {
        let now_ms = (self.ledger.clock)();
        let now = Period::at(now_ms);
        let estimate = estimate_usd.max(0.0);
        let own = self.config.for_key(key);
        let verdict = self.shared.as_ref().and_then(|shared| {
            shared.admit(&shared::Admission {
                key,
                day: now.day,
                month: now.month,
                estimate_usd: estimate,
                own,
                gateway: self.config.gateway,
                now_ms,
            })
        });
        let (figures, reservation_id) = match verdict {
            Some(shared::Verdict::Refused {
                gateway,
                period,
                limit,
                spent,
            }) => {
                let whose = match gateway {
                    true => "the gateway".to_string(),
                    false => format!("access key `{key}`"),
                };
                return Err(exceeded(&whose, period, limit, spent, &now, now_ms));
            }
            Some(shared::Verdict::Admitted(id, figures)) => (Some(figures), Some(id)),
            // The shared store cannot say: this instance's own figures decide.
            None => (None, None),
        };
        let mut state = self.ledger.lock();
        let State { gateway, keys } = &mut *state;
        gateway.roll(&now);
        let spend = keys.entry(key.to_string()).or_default();
        spend.roll(&now);
        if let Some(figures) = figures {
            // The shared figures include this instance's; whichever is
            // higher is the one nearer the truth (a store just emptied,
            // this instance's own spend read from its database).
            spend.day_usd = spend.day_usd.max(figures.key_day);
            spend.month_usd = spend.month_usd.max(figures.key_month);
            gateway.day_usd = gateway.day_usd.max(figures.gateway_day);
            gateway.month_usd = gateway.month_usd.max(figures.gateway_month);
        }
        let refusal = match (
            spend.over(&own, estimate),
            gateway.over(&self.config.gateway, estimate),
        ) {
            (Some(over), _) => Some((format!("access key `{key}`"), over)),
            (None, Some(over)) => Some(("the gateway".to_string(), over)),
            (None, None) => None,
        };
        if let (Some((whose, (period, limit, spent))), None) = (refusal, &reservation_id) {
            return Err(exceeded(&whose, period, limit, spent, &now, now_ms));
        }
        spend.reserved_usd += estimate;
        gateway.reserved_usd += estimate;
        Ok(Reservation {
            ledger: Arc::clone(&self.ledger),
            shared: self.shared.clone(),
            shared_id: reservation_id,
            key: key.to_string(),
            estimate,
            settled: AtomicBool::new(false),
        })
    }

    /// Every budget with its spend now: the gateway's and each key's that
    /// has one.
    pub fn view(&self) -> BudgetsView {
        let now = Period::at((self.ledger.clock)());
        let state = self.ledger.lock();
        let line = |key: Option<&str>, budget: Budget, spend: Option<&Spend>| {
            let mut spend = spend.copied().unwrap_or_default();
            spend.roll(&now);
            BudgetLine {
                key: key.map(str::to_string),
                daily_usd: budget.daily_usd,
                daily_spent_usd: round(spend.day_usd),
                daily_resets: period::rfc3339(now.next_day_ms),
                monthly_usd: budget.monthly_usd,
                monthly_spent_usd: round(spend.month_usd),
                monthly_resets: period::rfc3339(now.next_month_ms),
                reserved_usd: round(spend.reserved_usd),
            }
        };
        let mut keys: Vec<String> = self.config.per_key.keys().cloned().collect();
        if !self.config.default_key.is_unlimited() {
            keys.extend(state.keys.keys().cloned());
        }
        keys.sort();
        keys.dedup();
        BudgetsView {
            gateway: (!self.config.gateway.is_unlimited())
                .then(|| line(None, self.config.gateway, Some(&state.gateway))),
            keys: keys
                .iter()
                .map(|key| line(Some(key), self.config.for_key(key), state.keys.get(key)))
                .filter(|line| line.daily_usd.is_some() || line.monthly_usd.is_some())
                .collect(),
        }
    }
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn exceeded(
    whose: &str,
    period: &str,
    limit: f64,
    spent: f64,
    now: &Period,
    now_ms: i64,
) -> Exceeded {
    let resets_ms = match period {
        "daily" => now.next_day_ms,
        _ => now.next_month_ms,
    };
    Exceeded {
        message: format!(
            "the {period} budget of ${limit:.2} for {whose} is spent (${:.4} spent, the rest \
             reserved by requests in flight); it resets at {}",
            round(spent),
            period::rfc3339(resets_ms)
        ),
        retry_after: Duration::from_millis(u64::try_from(resets_ms - now_ms).unwrap_or(0)),
    }
}

/// The start of the UTC day and month `now_ms` is in, Unix ms: where the
/// spend to [`Budgets::seed`] with is counted from.
pub fn period_starts(now_ms: i64) -> (i64, i64) {
    Period::starts(now_ms)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// To a millionth of a dollar, so sums print plainly.
fn round(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

/// A request's reserved estimate: [`Self::settle`] replaces it with the
/// real cost; dropped unsettled, the estimate is released and nothing is
/// spent (the request ended without a usage record).
#[derive(Debug)]
pub struct Reservation {
    ledger: Arc<Ledger>,
    shared: Option<Arc<dyn SharedSpend>>,
    /// The reservation in the shared store, when it admitted the request.
    shared_id: Option<String>,
    key: String,
    estimate: f64,
    settled: AtomicBool,
}

impl Reservation {
    /// Releases the estimate and spends `cost_usd` (`None`: unknown, 0).
    /// Only the first call counts.
    pub fn settle(&self, cost_usd: Option<f64>) {
        if self.settled.swap(true, Ordering::AcqRel) {
            return;
        }
        self.apply(cost_usd.unwrap_or(0.0).max(0.0));
    }

    fn apply(&self, cost: f64) {
        let now = Period::at((self.ledger.clock)());
        let mut state = self.ledger.lock();
        let State { gateway, keys } = &mut *state;
        for spend in [Some(gateway), keys.get_mut(&self.key)]
            .into_iter()
            .flatten()
        {
            spend.reserved_usd = (spend.reserved_usd - self.estimate).max(0.0);
            spend.roll(&now);
            spend.day_usd += cost;
            spend.month_usd += cost;
        }
        drop(state);
        if let Some(shared) = &self.shared
            && (cost > 0.0 || self.shared_id.is_some())
        {
            let (shared, key, id) = (Arc::clone(shared), self.key.clone(), self.shared_id.clone());
            let add = move || match id {
                Some(id) => shared.settle(&key, &id, now.day, now.month, cost),
                None => shared.add(&key, now.day, now.month, cost),
            };
            // Settled where a response ends, on an async thread: the
            // shared store's round trip goes to the blocking pool.
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(add)),
                Err(_) => add(),
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled.swap(true, Ordering::AcqRel) {
            self.apply(0.0);
        }
    }
}

/// What `/health`, the dashboard and `/metrics` show.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BudgetsView {
    /// `None` without a gateway budget.
    pub gateway: Option<BudgetLine>,
    /// Keys with a budget, by name.
    pub keys: Vec<BudgetLine>,
}

/// One budget and its spend; amounts in USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetLine {
    /// The access key; `None` for the gateway's.
    pub key: Option<String>,
    pub daily_usd: Option<f64>,
    pub daily_spent_usd: f64,
    /// When the daily spend starts again from 0 (UTC midnight).
    pub daily_resets: String,
    pub monthly_usd: Option<f64>,
    pub monthly_spent_usd: f64,
    pub monthly_resets: String,
    /// Estimates of the requests in flight.
    pub reserved_usd: f64,
}
