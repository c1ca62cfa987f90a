//! A cap on a provider's concurrent upstream requests, with a bounded queue.
//!
//! A burst from many clients would otherwise trip the provider's own limits
//! (and bill for the failures). Requests past `max_concurrent` wait in line
//! for a slot; past `max_queued` waiting ones, they are refused at once so
//! the client can go elsewhere instead of waiting behind a queue that may
//! never move. The slot is held until the upstream body ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ConcurrencyLimit;

/// The gate of one provider.
#[derive(Debug)]
pub struct Gate {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    max_queued: usize,
    queued: AtomicUsize,
}

/// A slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

/// The queue is full.
#[derive(Debug, Clone, Copy)]
pub struct QueueFull;

impl Gate {
    pub fn new(limit: ConcurrencyLimit) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limit.max_concurrent)),
            max_concurrent: limit.max_concurrent,
            max_queued: limit.max_queued,
            queued: AtomicUsize::new(0),
        }
    }

    /// A slot now, or after waiting in line; `QueueFull` when the line is
    /// already `max_queued` long.
    pub async fn enter(&self) -> Result<Slot, QueueFull> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(Slot { _permit: permit });
        }
        let position = self.queued.fetch_add(1, Ordering::AcqRel);
        let _in_line = InLine(&self.queued);
        if position >= self.max_queued {
            return Err(QueueFull);
        }
        // The semaphore is never closed, so this only fails if it were.
        match Arc::clone(&self.slots).acquire_owned().await {
            Ok(permit) => Ok(Slot { _permit: permit }),
            Err(_) => Err(QueueFull),
        }
    }

    /// Requests it lets through at once.
    pub fn capacity(&self) -> usize {
        self.max_concurrent
    }

    /// Slots taken now.
    pub fn in_use(&self) -> usize {
        self.max_concurrent
            .saturating_sub(self.slots.available_permits())
    }

    /// Requests waiting now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// Leaves the line when dropped, also when the waiting request is cancelled.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queues_then_refuses() {
        let gate = Arc::new(Gate::new(ConcurrencyLimit {
            max_concurrent: 1,
            max_queued: 1,
        }));
        let first = gate.enter().await.unwrap();
        let waiting = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.enter().await.map(|_| ()) }
        });
        // Wait until the second request is in line.
        while gate.queued() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(gate.enter().await.is_err(), "third is refused");
        drop(first);
        assert!(waiting.await.unwrap().is_ok(), "second gets the slot");
        assert_eq!(gate.queued(), 0);
    }
}
