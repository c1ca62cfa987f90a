//! The tokens-per-minute bucket: charged before the call with an estimate,
//! settled after it with the real usage, and allowed to go into debt.
//!
//! Invariants: the balance never exceeds one minute's allowance (the
//! capacity); it may fall below zero by any amount (a completion can cost
//! far more than its prompt estimate), and a caller in debt waits until
//! refilling has paid it back. Balances are kept in exact integer units of
//! token·nanoseconds-per-minute, so refilling at `tpm` per minute adds
//! exactly `tpm` units per nanosecond and no rounding drifts.

use std::num::NonZeroU64;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::clock::LimitClock;

/// One token in balance units: refilling adds `tpm` units a nanosecond.
const UNITS_PER_TOKEN: i128 = 60_000_000_000;

/// A token bucket that lets the balance go negative.
#[derive(Debug)]
pub(super) struct TokenBucket {
    tpm: NonZeroU64,
    clock: LimitClock,
    // A mutex, not atomics: refill, test and charge must be one step, and
    // the lock is held for a few arithmetic operations.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Tokens × [`UNITS_PER_TOKEN`].
    balance: i128,
    /// Clock reading (nanoseconds) the balance was last brought up to.
    at: u64,
}

impl TokenBucket {
    /// A full bucket: a new caller may spend a whole minute's allowance.
    pub(super) fn new(tpm: NonZeroU64, clock: LimitClock) -> Self {
        let at = clock.now_nanos();
        let bucket_capacity = capacity(tpm);
        Self {
            tpm,
            clock,
            state: Mutex::new(State {
                balance: bucket_capacity,
                at,
            }),
        }
    }

    pub(super) fn tpm(&self) -> NonZeroU64 {
        self.tpm
    }

    /// Charges `estimate` if the balance is positive; otherwise returns how
    /// long until it is. Only a positive balance is required, not one that
    /// covers the estimate, so a prompt larger than a minute's allowance can
    /// still pass once the bucket is full (it then leaves a debt).
    pub(super) fn reserve(&self, estimate: u64) -> Result<(), Duration> {
        let mut state = self.refilled();
        if state.balance > 0 {
            state.balance = state.balance.saturating_sub(units(estimate));
            Ok(())
        } else {
            Err(self.time_until_positive(state.balance))
        }
    }

    /// Tokens that may be spent now (negative while in debt), for display.
    pub(super) fn available(&self) -> i64 {
        let balance = self.refilled().balance / UNITS_PER_TOKEN;
        i64::try_from(balance).unwrap_or(i64::MIN)
    }

    /// Replaces a charged `reserved` with `actual`: charges the difference,
    /// or refunds it (never above the capacity).
    pub(super) fn settle(&self, reserved: u64, actual: u64) {
        let mut state = self.refilled();
        let delta = units(reserved) - units(actual);
        state.balance = state.balance.saturating_add(delta).min(capacity(self.tpm));
    }

    /// Locks the state and brings the balance up to the clock's now.
    fn refilled(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent across a panic elsewhere (each update is
        // a single assignment), so a poisoned lock is still usable.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now_nanos();
        let elapsed = now.saturating_sub(state.at);
        state.at = state.at.max(now);
        let refill = i128::from(elapsed).saturating_mul(i128::from(self.tpm.get()));
        state.balance = state.balance.saturating_add(refill).min(capacity(self.tpm));
        state
    }

    /// The shortest wait after which the balance is above zero.
    fn time_until_positive(&self, balance: i128) -> Duration {
        let debt = balance.saturating_neg();
        let nanos = debt / i128::from(self.tpm.get()) + 1;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

fn units(tokens: u64) -> i128 {
    i128::from(tokens) * UNITS_PER_TOKEN
}

fn capacity(tpm: NonZeroU64) -> i128 {
    units(tpm.get())
}
