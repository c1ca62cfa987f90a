//! Spend kept where every instance sees it, so a budget spent through one
//! instance refuses on the others: the ledger reads it before admitting a
//! request and adds each request's cost to it when the request settles.
//! Reservations of requests in flight stay per instance (an instance that
//! dies leaves nothing reserved behind), so a burst spread over several
//! instances can overshoot by what their requests in flight cost.
//!
//! The implementation on Redis is [`crate::limits::shared::RedisSpend`];
//! when it cannot answer, the ledger goes on with this instance's own
//! figures.

/// Today's and this month's spend of one key and of the gateway, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SharedFigures {
    pub key_day: f64,
    pub key_month: f64,
    pub gateway_day: f64,
    pub gateway_month: f64,
}

/// Where spend is shared. `day` is days since the Unix epoch, `month`
/// `year * 12 + month - 1` (UTC). Both calls block.
pub trait SharedSpend: Send + Sync + std::fmt::Debug {
    /// The figures now; `None` when the store cannot say.
    fn read(&self, key: &str, day: i64, month: i64) -> Option<SharedFigures>;
    /// Adds `cost_usd` to `key`'s and the gateway's day and month.
    fn add(&self, key: &str, day: i64, month: i64, cost_usd: f64);
}
