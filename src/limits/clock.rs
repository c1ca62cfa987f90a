//! The one time source of every limiter: the system's monotonic clock, or
//! a manual clock that tests move forward without sleeping.
//!
//! Time is nanoseconds since the clock was made, as governor's [`Nanos`],
//! so the request limiter (governor) and the token bucket read the same
//! value. Invariant: clones share one source, so advancing a
//! [`ManualClock`] moves every limiter built on its [`LimitClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::nanos::Nanos;

/// Where limiters read the time. Cheap to clone; clones share the source.
#[derive(Debug, Clone)]
pub struct LimitClock {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    System(Instant),
    Manual(Arc<AtomicU64>),
}

/// Moves a manual [`LimitClock`] forward.
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl LimitClock {
    /// The system's monotonic clock.
    pub fn system() -> Self {
        Self {
            source: Source::System(Instant::now()),
        }
    }

    /// A clock that stands still until its [`ManualClock`] advances it.
    pub fn manual() -> (LimitClock, ManualClock) {
        let nanos = Arc::new(AtomicU64::new(0));
        let clock = Self {
            source: Source::Manual(Arc::clone(&nanos)),
        };
        (clock, ManualClock { nanos })
    }

    /// Nanoseconds since the clock was made.
    pub(super) fn now_nanos(&self) -> u64 {
        match &self.source {
            // u64 nanoseconds last 584 years; saturate rather than wrap.
            Source::System(start) => u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Source::Manual(nanos) => nanos.load(Ordering::Acquire),
        }
    }
}

impl ManualClock {
    /// Moves time forward for every limiter on this clock.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
    }
}

impl Clock for LimitClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.now_nanos())
    }
}
