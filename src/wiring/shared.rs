//! What the instances share through Redis besides the cache: requests per
//! minute and spend against budgets, on one connection pool of their own,
//! reporting to the shared cache's health (one Redis, one state).

use std::sync::Arc;

use super::state::StateError;
use crate::budgets::shared::SharedSpend;
use crate::cache::redis::RedisPool;
use crate::cache::tiered::SharedHealth;
use crate::config::Config;
use crate::limits::shared::{RedisSpend, SharedRpm};

/// The shared limiter and spend, when `[redis]` is set.
pub(super) type Shared = (Option<Arc<SharedRpm>>, Option<Arc<dyn SharedSpend>>);

pub(super) fn open(
    config: &Config,
    health: Option<&Arc<SharedHealth>>,
) -> Result<Shared, StateError> {
    let (Some(redis), Some(health)) = (&config.redis, health) else {
        return Ok((None, None));
    };
    let pool = Arc::new(RedisPool::new(redis.url.expose(), redis.timeout)?);
    let rpm = SharedRpm::new(Arc::clone(&pool), Arc::clone(health), &redis.prefix);
    let spend = RedisSpend::new(pool, Arc::clone(health), &redis.prefix);
    Ok((Some(Arc::new(rpm)), Some(Arc::new(spend))))
}
