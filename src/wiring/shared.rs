//! What the instances share through Redis besides the cache: requests and
//! tokens per minute, spend against budgets and the leases of single
//! flight, on one connection pool of their own, reporting to the shared
//! cache's health (one Redis, one state).

use std::sync::Arc;

use super::state::StateError;
use crate::budgets::shared::SharedSpend;
use crate::cache::redis::RedisPool;
use crate::cache::tiered::SharedHealth;
use crate::config::Config;
use crate::limits::shared::{RedisSpend, SharedRpm};
use crate::pipeline::shared_flight::SharedFlights;

/// The shared limiter, spend and flights, when `[redis]` is set.
#[derive(Default)]
pub(super) struct Shared {
    pub rpm: Option<Arc<SharedRpm>>,
    pub spend: Option<Arc<dyn SharedSpend>>,
    pub flights: Option<Arc<SharedFlights>>,
}

pub(super) fn open(
    config: &Config,
    health: Option<&Arc<SharedHealth>>,
) -> Result<Shared, StateError> {
    let (Some(redis), Some(health)) = (&config.redis, health) else {
        return Ok(Shared::default());
    };
    let pool = Arc::new(RedisPool::new(redis.url.expose(), redis.timeout)?);
    let rpm = SharedRpm::new(Arc::clone(&pool), Arc::clone(health), &redis.prefix);
    let flights = SharedFlights::new(
        Arc::clone(&pool),
        Arc::clone(health),
        &redis.prefix,
        redis.lease,
    );
    let spend = RedisSpend::new(pool, Arc::clone(health), &redis.prefix);
    Ok(Shared {
        rpm: Some(Arc::new(rpm)),
        spend: Some(Arc::new(spend)),
        flights: Some(Arc::new(flights)),
    })
}
