//! Single flight: identical requests in flight at the same time cause one
//! upstream call.
//!
//! The first request for a cache key is the leader: it spawns a task that
//! owns the upstream response. The task reads the body,
//! keeps each chunk (for the cache entry and for late joiners) and hands it
//! to every listener; requests that arrive meanwhile are followers and get
//! the chunks seen so far, then the rest live. Because the task, not a
//! client connection, owns the upstream read, the answer is read to its end
//! (and stored) even after every client has gone, when
//! `cache.complete_on_disconnect` is on.
//!
//! Bounds: each listener has a queue of [`LISTENER_QUEUE`] events; the task
//! waits for a listener whose queue is full up to [`MAX_PATIENCE`] (or the
//! provider's idle timeout, if shorter) and then drops it (its response ends
//! abnormally), so one stalled client cannot hold the others for long. Retained chunks are bounded by `cache.max_entry_bytes`: past it the
//! answer cannot be stored, so it is let go and the flight stops taking new
//! followers (they start their own).
//!
//! A streamed and a non-streamed request for the same answer share one
//! flight, as they share one cache entry: a follower that wants the other
//! form gets it converted once the answer is complete ([`super::follow`]),
//! gathered up to the same bound.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::mpsc;

use crate::cache::CacheKey;
use crate::error::AppError;
use crate::stream::StreamFault;
use crate::upstream::AnswerHead;

/// Events a listener can fall behind by before the leader waits for it.
pub const LISTENER_QUEUE: usize = 64;

/// Longest wait for a listener that stopped reading. A client that reads at
/// all drains 64 queued events plus its socket buffers long before this.
pub const MAX_PATIENCE: Duration = Duration::from_secs(30);

/// Which requests share a flight: the same cache key, whatever their form.
pub type FlightId = CacheKey;

/// What listeners receive, in order: a head (or a refusal), chunks, an end.
#[derive(Debug, Clone)]
pub enum Event {
    Head(AnswerHead),
    Chunk(Bytes),
    End(End),
}

/// How a flight ended.
#[derive(Debug, Clone)]
pub enum End {
    /// The upstream body ended cleanly.
    Complete,
    /// The upstream body broke off or timed out.
    Cut(StreamFault),
    /// No response at all (unreachable, timeout).
    Refused(AppError),
    /// The leader did not call upstream — the answer turned up in the
    /// cache, or the leader's caller is over its token limit: listeners
    /// look in the cache, and else start a flight of their own.
    LookAgain,
}

#[derive(Default)]
struct FlightState {
    head: Option<AnswerHead>,
    chunks: Vec<Bytes>,
    retained_bytes: u64,
    /// Still taking followers (false once chunks were let go, or it ended).
    joinable: bool,
    listeners: Vec<mpsc::Sender<Event>>,
    end: Option<End>,
}

/// One upstream call and everyone waiting for it.
pub struct Flight {
    state: Mutex<FlightState>,
    max_retained: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Flight {
    fn new(max_retained: u64) -> Self {
        Self {
            state: Mutex::new(FlightState {
                joinable: true,
                ..FlightState::default()
            }),
            max_retained,
        }
    }

    /// A listener that gets everything so far, then the rest live; `None`
    /// once the flight no longer takes followers.
    fn subscribe(&self) -> Option<Subscription> {
        let mut state = lock(&self.state);
        if !state.joinable {
            return None;
        }
        let mut catch_up = VecDeque::with_capacity(state.chunks.len() + 2);
        if let Some(head) = &state.head {
            catch_up.push_back(Event::Head(head.clone()));
        }
        catch_up.extend(state.chunks.iter().cloned().map(Event::Chunk));
        let (sender, receiver) = mpsc::channel(LISTENER_QUEUE);
        match &state.end {
            Some(end) => catch_up.push_back(Event::End(end.clone())),
            None => state.listeners.push(sender),
        }
        Some(Subscription { catch_up, receiver })
    }

    /// Records `event` and hands it to every listener; returns how many
    /// listeners are left. `patience` bounds the wait for a slow listener.
    pub async fn publish(&self, event: Event, patience: Duration) -> usize {
        let listeners = {
            let mut state = lock(&self.state);
            match &event {
                Event::Head(head) => state.head = Some(head.clone()),
                Event::Chunk(chunk) => {
                    state.retained_bytes += chunk.len() as u64;
                    if state.joinable && state.retained_bytes <= self.max_retained {
                        // A copy of its own: the chunk shares the upstream
                        // connection's read buffer (8 KiB or more), which a
                        // kept slice would pin for the whole answer.
                        state.chunks.push(Bytes::copy_from_slice(chunk));
                    } else {
                        state.joinable = false;
                        state.chunks = Vec::new();
                    }
                }
                Event::End(end) => {
                    state.end = Some(end.clone());
                    state.joinable = false;
                }
            }
            if matches!(event, Event::End(_)) {
                std::mem::take(&mut state.listeners)
            } else {
                state.listeners.clone()
            }
        };
        let mut gone = Vec::new();
        for listener in &listeners {
            let sent = tokio::time::timeout(patience, listener.send(event.clone())).await;
            if !matches!(sent, Ok(Ok(()))) {
                gone.push(listener.clone());
            }
        }
        let mut state = lock(&self.state);
        state
            .listeners
            .retain(|l| !gone.iter().any(|g| g.same_channel(l)) && !l.is_closed());
        state.listeners.len()
    }

    /// The whole body's chunks, if every chunk was kept.
    pub fn retained_body(&self) -> Option<Vec<Bytes>> {
        let state = lock(&self.state);
        (state.retained_bytes <= self.max_retained).then(|| state.chunks.clone())
    }
}

/// A listener's view of a flight.
pub struct Subscription {
    catch_up: VecDeque<Event>,
    receiver: mpsc::Receiver<Event>,
}

impl Subscription {
    /// The next event; `None` if the flight dropped this listener or its task
    /// vanished (treat as a cut).
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.catch_up.pop_front() {
            return Some(event);
        }
        self.receiver.recv().await
    }
}

/// Whether this request leads the flight or follows one.
pub enum Joined {
    Leader(Arc<Flight>, Subscription),
    Follower(Subscription),
}

/// The flights in progress.
#[derive(Default)]
pub struct Flights {
    running: Mutex<HashMap<FlightId, Arc<Flight>>>,
    /// Itemized requests' items in flight (embeddings inputs).
    pub items: super::item_flights::ItemFlights,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights")
            .field("running", &lock(&self.running).len())
            .field("items", &self.items)
            .finish()
    }
}

impl Flights {
    /// Joins the flight for `id`, or starts one (the caller must then run it).
    pub fn join(&self, id: &FlightId, max_retained: u64) -> Joined {
        let mut running = lock(&self.running);
        if let Some(subscription) = running.get(id).and_then(|flight| flight.subscribe()) {
            return Joined::Follower(subscription);
        }
        let flight = Arc::new(Flight::new(max_retained));
        running.insert(id.clone(), Arc::clone(&flight));
        match flight.subscribe() {
            Some(subscription) => Joined::Leader(flight, subscription),
            // A new flight always takes listeners; this arm cannot be reached.
            None => Joined::Leader(
                Arc::clone(&flight),
                Subscription {
                    catch_up: VecDeque::new(),
                    receiver: mpsc::channel(1).1,
                },
            ),
        }
    }

    /// Takes `flight` off the list, so new requests no longer join it.
    pub fn remove(&self, id: &FlightId, flight: &Arc<Flight>) {
        let mut running = lock(&self.running);
        if running.get(id).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            running.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_kept_chunk_does_not_pin_the_buffer_it_was_read_into() {
        let flight = Flight::new(1 << 20);
        // What hyper hands over: a slice of its connection's read buffer.
        let buffer = Bytes::from(vec![b'x'; 8192]);
        let chunk = buffer.slice(..100);
        flight
            .publish(Event::Chunk(chunk.clone()), Duration::from_secs(1))
            .await;
        let kept = flight.retained_body().expect("within the bound");
        assert_eq!(kept, vec![chunk.clone()]);
        let range = buffer.as_ptr_range();
        assert!(
            !range.contains(&kept[0].as_ptr()),
            "the kept chunk is a copy of its own"
        );
    }
}
