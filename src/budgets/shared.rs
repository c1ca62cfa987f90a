//! Spend kept where every instance sees it, so a budget spent through one
//! instance refuses on the others: a request is admitted (its estimate
//! reserved) in one atomic step against every instance's spend and
//! reservations, and settles there when it ends. A reservation an instance
//! never settles (it died) expires after [`RESERVATION_HOLD`].
//!
//! The implementation on Redis is [`crate::limits::shared::RedisSpend`];
//! when it cannot answer, the ledger goes on with this instance's own
//! figures (and adds the costs to the shared spend once it can).

/// Today's and this month's spend of one key and of the gateway, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SharedFigures {
    pub key_day: f64,
    pub key_month: f64,
    pub gateway_day: f64,
    pub gateway_month: f64,
}

/// How long an unsettled reservation holds its amount: the longest an
/// exchange may take by default (`total_timeout_secs`).
pub const RESERVATION_HOLD: std::time::Duration = std::time::Duration::from_secs(1800);

/// One request to admit, with the budgets that apply.
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    pub key: &'a str,
    pub day: i64,
    pub month: i64,
    pub estimate_usd: f64,
    pub own: super::Budget,
    pub gateway: super::Budget,
    pub now_ms: i64,
}

/// What the shared store decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Admitted: the reservation's id, and the spend figures now.
    Admitted(String, SharedFigures),
    /// Refused by the key's budget (or the gateway's) for the period
    /// (`daily` or `monthly`): its limit and what was spent.
    Refused {
        gateway: bool,
        period: &'static str,
        limit: f64,
        spent: f64,
    },
}

/// Where spend is shared. `day` is days since the Unix epoch, `month`
/// `year * 12 + month - 1` (UTC). Both calls block.
pub trait SharedSpend: Send + Sync + std::fmt::Debug {
    /// Adds `cost_usd` to `key`'s and the gateway's day and month.
    fn add(&self, key: &str, day: i64, month: i64, cost_usd: f64);
    /// Checks and reserves in one step; `None` when the store cannot say.
    fn admit(&self, admission: &Admission<'_>) -> Option<Verdict>;
    /// Releases `reservation` of `key` and adds `cost_usd` to the spend.
    fn settle(&self, key: &str, reservation: &str, day: i64, month: i64, cost_usd: f64);
}
