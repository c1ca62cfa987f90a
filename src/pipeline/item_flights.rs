//! Single flight for the items of itemized requests (embeddings inputs):
//! a batch that misses an item another batch is already sending waits for
//! that batch's answer instead of sending the item again.
//!
//! A batch claims the items it misses: those nobody is sending it leads
//! (sends them upstream itself, in one request), the others it follows.
//! Leading never waits on anyone, so two batches following each other's
//! items cannot deadlock: each sends its own first and waits after. A
//! leader publishes each item as soon as its answer is split, and keeps the
//! item in the list until it is stored, so a batch arriving meanwhile joins
//! too instead of finding neither a flight nor an entry. A leader that ends
//! without an item (an upstream error, a client gone) leaves its followers
//! to send that item themselves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::watch;

use crate::cache::CacheKey;

/// An item found in the cache or just answered: its embedding and prompt
/// tokens.
pub type Item = (Value, u64);

/// The items being sent upstream, by cache key.
#[derive(Default)]
pub struct ItemFlights {
    running: Mutex<HashMap<CacheKey, Running>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for ItemFlights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemFlights")
            .field("running", &self.lock().len())
            .finish()
    }
}

/// One item in flight: whose it is, and where its answer appears.
struct Running {
    id: u64,
    answer: watch::Receiver<Option<Item>>,
}

/// What a batch got by claiming its missing items.
pub struct Claims<'a> {
    /// The items this batch sends, with their publication handles.
    pub led: Led<'a>,
    /// The items another batch is sending: index and where to wait.
    pub followed: Vec<(usize, Following)>,
}

/// An item another batch is sending.
pub struct Following(watch::Receiver<Option<Item>>);

impl Following {
    /// The item, once its leader has it; `None` when the leader ended
    /// without it.
    pub async fn answer(mut self) -> Option<Item> {
        // An error means the leader is gone; it may have published first.
        let _ = self.0.wait_for(Option::is_some).await;
        self.0.borrow().clone()
    }
}

/// The items a batch leads. Dropping it takes them off the list, so their
/// followers stop waiting.
pub struct Led<'a> {
    flights: &'a ItemFlights,
    /// Index in the batch, key, answer slot.
    items: Vec<(usize, CacheKey, watch::Sender<Option<Item>>)>,
    id: u64,
}

impl Led<'_> {
    /// The batch indices this batch sends, in order.
    pub fn indices(&self) -> Vec<usize> {
        self.items.iter().map(|(index, _, _)| *index).collect()
    }

    /// Hands item `index`'s answer to its followers (it stays on the list
    /// until [`Led::done`] or drop).
    pub fn publish(&self, index: usize, item: &Item) {
        if let Some((_, _, sender)) = self.items.iter().find(|(i, _, _)| *i == index) {
            sender.send_replace(Some(item.clone()));
        }
    }
}

impl Drop for Led<'_> {
    fn drop(&mut self) {
        let mut running = self.flights.lock();
        for (_, key, _) in &self.items {
            if running.get(key).is_some_and(|r| r.id == self.id) {
                running.remove(key);
            }
        }
    }
}

impl ItemFlights {
    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, Running>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims `missing` (batch index, key): leads the items nobody sends,
    /// follows the rest. An item that appears twice in one batch is led
    /// once and followed by its repeat.
    pub fn claim(&self, missing: impl IntoIterator<Item = (usize, CacheKey)>) -> Claims<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut led = Led {
            flights: self,
            items: Vec::new(),
            id,
        };
        let mut followed = Vec::new();
        let mut running = self.lock();
        for (index, key) in missing {
            if let Some(flight) = running.get(&key) {
                followed.push((index, Following(flight.answer.clone())));
                continue;
            }
            let (sender, answer) = watch::channel(None);
            running.insert(key.clone(), Running { id, answer });
            led.items.push((index, key, sender));
        }
        drop(running);
        Claims { led, followed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CacheKey {
        CacheKey::parse(&hex::encode([byte; 32])).expect("a 64-hex key")
    }

    #[tokio::test]
    async fn a_second_batch_follows_what_the_first_sends() {
        let flights = ItemFlights::default();
        let first = flights.claim([(0, key(1)), (1, key(2))]);
        assert_eq!(first.led.indices(), vec![0, 1]);
        let second = flights.claim([(0, key(2)), (1, key(3))]);
        assert_eq!(second.led.indices(), vec![1]);
        assert_eq!(second.followed.len(), 1);
        let item = (serde_json::json!([0.5]), 3);
        first.led.publish(1, &item);
        let (index, following) = second.followed.into_iter().next().expect("one followed");
        assert_eq!(index, 0);
        assert_eq!(following.answer().await, Some(item));
    }

    #[tokio::test]
    async fn a_leader_gone_without_the_item_lets_its_followers_go() {
        let flights = ItemFlights::default();
        let first = flights.claim([(0, key(1))]);
        let second = flights.claim([(0, key(1))]);
        drop(first);
        let (_, following) = second.followed.into_iter().next().expect("one followed");
        assert_eq!(following.answer().await, None);
        // The item is free again: the next batch leads it.
        assert_eq!(flights.claim([(0, key(1))]).led.indices(), vec![0]);
    }

    #[tokio::test]
    async fn a_published_item_reaches_followers_after_the_leader_ends() {
        let flights = ItemFlights::default();
        let first = flights.claim([(0, key(4))]);
        let second = flights.claim([(0, key(4))]);
        let item = (serde_json::json!([1.0]), 1);
        first.led.publish(0, &item);
        drop(first);
        let (_, following) = second.followed.into_iter().next().expect("one followed");
        assert_eq!(following.answer().await, Some(item));
    }

    #[test]
    fn a_repeat_in_one_batch_follows_its_first_occurrence() {
        let flights = ItemFlights::default();
        let claims = flights.claim([(0, key(5)), (1, key(5))]);
        assert_eq!(claims.led.indices(), vec![0]);
        assert_eq!(claims.followed[0].0, 1);
    }
}
