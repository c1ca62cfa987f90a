//! A provider's keys, taken in turn.
//!
//! With several keys (`NAME_API_KEY=sk-a,sk-b`), each request takes the next
//! one; a key that just got 401 or 429 cools down and is passed over until
//! its cool-down ends. When every key is cooling, the one that cools
//! soonest is used anyway: a request is never refused for want of a key.
//! With a single key nothing ever cools: there is nothing to switch to.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use crate::config::Secret;

/// The keys of one provider and their cool-down state.
#[derive(Debug)]
pub struct KeyRing {
    /// `Bearer …` header values, marked sensitive.
    keys: Vec<HeaderValue>,
    next: AtomicUsize,
    /// Per key: cooling until this many ms after `epoch` (0: not cooling).
    cooling_until_ms: Vec<AtomicU64>,
    epoch: Instant,
    cooldown: Duration,
}

/// One key picked for a request.
#[derive(Debug, Clone)]
pub struct PickedKey {
    pub index: usize,
    pub authorization: HeaderValue,
}

impl KeyRing {
    /// A ring over `secrets`; keys that cannot be a header value are left out.
    pub fn new(secrets: &[Secret], cooldown: Duration) -> Self {
        let keys: Vec<HeaderValue> = secrets
            .iter()
            .filter_map(|key| {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose())).ok()?;
                value.set_sensitive(true);
                Some(value)
            })
            .collect();
        Self {
            cooling_until_ms: keys.iter().map(|_| AtomicU64::new(0)).collect(),
            keys,
            next: AtomicUsize::new(0),
            epoch: Instant::now(),
            cooldown,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Each key as the dashboard shows it: `…` and its last 4 characters
    /// (nothing of a key shorter than 12).
    pub fn masked(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|value| {
                let key = value.to_str().unwrap_or_default();
                crate::config::secret::mask_tail(key.strip_prefix("Bearer ").unwrap_or(key))
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The next key in turn that is not cooling down.
    pub fn pick(&self) -> Option<PickedKey> {
        let count = self.keys.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let now = self.now_ms();
        let until = |i: usize| self.cooling_until_ms[i].load(Ordering::Relaxed);
        let index = (0..count)
            .map(|offset| (start + offset) % count)
            .find(|&i| until(i) <= now)
            .or_else(|| (0..count).min_by_key(|&i| until(i)))?;
        Some(PickedKey {
            index,
            authorization: self.keys[index].clone(),
        })
    }

    /// Passes over key `index` for the cool-down period; whether another
    /// key is there to try instead.
    pub fn cool_down(&self, index: usize) -> bool {
        if self.keys.len() < 2 {
            return false;
        }
        let until = self
            .now_ms()
            .saturating_add(u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX));
        if let Some(slot) = self.cooling_until_ms.get(index) {
            slot.store(until, Ordering::Relaxed);
        }
        let now = self.now_ms();
        self.cooling_until_ms
            .iter()
            .any(|slot| slot.load(Ordering::Relaxed) <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize) -> KeyRing {
        let secrets: Vec<Secret> = (0..n).map(|i| Secret::new(format!("k{i}"))).collect();
        KeyRing::new(&secrets, Duration::from_secs(60))
    }

    #[test]
    fn takes_keys_in_turn() {
        let ring = ring(3);
        let picked: Vec<usize> = (0..6).map(|_| ring.pick().unwrap().index).collect();
        assert_eq!(picked, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn passes_over_a_cooling_key() {
        let ring = ring(3);
        assert!(ring.cool_down(1));
        let picked: Vec<usize> = (0..4).map(|_| ring.pick().unwrap().index).collect();
        assert_eq!(picked, [0, 2, 2, 0]);
    }

    #[test]
    fn all_cooling_still_gives_a_key() {
        let ring = ring(2);
        assert!(ring.cool_down(0));
        assert!(!ring.cool_down(1));
        assert!(ring.pick().is_some());
    }

    #[test]
    fn a_single_key_never_cools() {
        let ring = ring(1);
        assert!(!ring.cool_down(0));
        assert_eq!(ring.pick().unwrap().index, 0);
        assert!(ring_is_sensitive(&ring));
    }

    fn ring_is_sensitive(ring: &KeyRing) -> bool {
        ring.pick().unwrap().authorization.is_sensitive()
    }
}
