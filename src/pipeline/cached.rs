//! Steps 3 and 4 of the pipeline: look the answer up, replay a hit, and on
//! a miss join the flight for the key or lead a new one; with the cache off,
//! call and relay directly.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};

use super::flight::{self, End, Event, Flight, Joined, Subscription};
use super::leader::{self, LeaderJob, StoreJob};
use super::shared_flight::{SharedFlights, Turn};
use super::shared_stream;
use super::{Serving, follow, rate_limits, replay};
use crate::cache::{CacheControl, CacheEntry, CacheKey};
use crate::config::CacheMode;
use crate::error::AppError;
use crate::limits::TokenReservation;
use crate::stream::relay::client_body;
use crate::upstream::{self, CallPlan};

/// Call and relay, without the cache.
pub(super) async fn relay(serving: &Serving<'_>, plan: &CallPlan) -> Response {
    let tokens = match reserve(serving).await {
        Ok(tokens) => tokens,
        Err(error) => return error.into_response(),
    };
    match upstream::call(plan).await {
        Ok(mut answer) => {
            answer.settle_tokens(tokens);
            let mut head = answer.head;
            let chunks = serving.tap.wrap(&mut head, answer.body);
            let is_sse = head.is_sse();
            let shape = serving.tap.dialect.error_shape();
            head.into_response(client_body(is_sse, shape, chunks))
        }
        Err(error) => {
            if let Some(tokens) = tokens {
                tokens.settle(0);
            }
            error.into_response()
        }
    }
}

/// Reserves the prompt's tokens for the caller's limit, before an upstream
/// call.
async fn reserve(serving: &Serving<'_>) -> Result<Option<TokenReservation>, AppError> {
    let request = &serving.exchange.request;
    let caller = &serving.incoming.caller;
    rate_limits::reserve_tokens(serving.routing, caller, request.model(), request.prompt()).await
}

/// The lookups a request may make, by its cache mode and `Cache-Control`.
struct Lookup<'a> {
    serving: &'a Serving<'a>,
    key: &'a CacheKey,
    control: CacheControl,
    reads: bool,
}

impl Lookup<'_> {
    async fn entry(&self) -> Option<CacheEntry> {
        match self.reads {
            true => {
                let cache = &self.serving.pipeline.cache;
                cache.lookup(self.key, self.control.max_age).await
            }
            false => None,
        }
    }

    /// The hit's response, its usage noted (it costs nothing).
    fn hit(&self, entry: &CacheEntry) -> (Response, &'static str) {
        let serving = self.serving;
        let wire = entry.meta.wire;
        let usage = entry.meta.usage.as_ref().and_then(|u| wire.stored_usage(u));
        serving
            .tap
            .slot
            .update(|notes| notes.metering.usage = usage);
        let dialect = serving.exchange.dialect.as_ref();
        (replay::replay(entry, dialect, serving.tap.form), "HIT")
    }
}

/// The response and the `x-cache` status.
pub(super) async fn answer(
    serving: &Serving<'_>,
    plan: CallPlan,
    key: &CacheKey,
) -> (Response, &'static str) {
    let cache = &serving.pipeline.cache;
    let mode = cache.settings.mode;
    let control = CacheControl::from_headers(&serving.incoming.headers);
    let lookup = Lookup {
        serving,
        key,
        control,
        reads: mode.reads() && !control.no_cache,
    };
    if let Some(entry) = lookup.entry().await {
        return lookup.hit(&entry);
    }
    if mode == CacheMode::Offline {
        let key = key.to_string();
        return (AppError::CacheMiss { key }.into_response(), "MISS");
    }
    let status = if control.bypasses() || !mode.reads() {
        "BYPASS"
    } else {
        "MISS"
    };
    match fly(&lookup, plan).await {
        Flown::Answered(response) => (response, status),
        Flown::Hit(entry) => lookup.hit(&entry),
        // Two flights in a row sent us to a cache that then missed (an
        // entry deleted by hand meanwhile): just proxy.
        Flown::Nothing(plan) | Flown::Retry(plan) => (relay(serving, &plan).await, status),
    }
}

/// How the flight for a miss went.
enum Flown {
    Answered(Response),
    Hit(CacheEntry),
    Nothing(CallPlan),
    /// Try the flight again (the leader on another instance gave nothing).
    Retry(CallPlan),
}

/// Joins or leads the flight for the key. A flight can end (its answer
/// stored) between the lookup and the join. So a new leader looks once more
/// before calling upstream, and if the answer is there, sends its followers
/// to the cache as well.
async fn fly(lookup: &Lookup<'_>, plan: CallPlan) -> Flown {
    let serving = lookup.serving;
    let pipeline = serving.pipeline;
    let max_bytes = pipeline.cache.settings.max_entry_bytes;
    let provider = plan.targets[0].route.provider.name().to_string();
    let mut plan = plan;
    for _ in 0..2 {
        match pipeline.flights.join(lookup.key, max_bytes) {
            Joined::Follower(subscription) => {
                serving
                    .tap
                    .slot
                    .update(|notes| notes.metering.shared = true);
                pipeline.metrics.flight_joined();
                let answer = follow::respond(subscription, &provider, &serving.tap, max_bytes);
                if let Some(response) = answer.await {
                    return Flown::Answered(response);
                }
                serving
                    .tap
                    .slot
                    .update(|notes| notes.metering.shared = false);
                if let Some(entry) = lookup.entry().await {
                    return Flown::Hit(entry);
                }
            }
            Joined::Leader(flight, subscription) => {
                match lead(lookup, plan, flight, subscription).await {
                    // Another instance's flight ended with nothing to
                    // relay: lead (or follow) anew.
                    Flown::Retry(again) => plan = again,
                    flown => return flown,
                }
            }
        }
    }
    Flown::Nothing(plan)
}

/// Leads a new flight: one more look, the token reservation, then the
/// leader's task.
async fn lead(
    lookup: &Lookup<'_>,
    plan: CallPlan,
    flight: Arc<Flight>,
    subscription: Subscription,
) -> Flown {
    let serving = lookup.serving;
    let pipeline = serving.pipeline;
    let route = &plan.targets[0].route;
    let provider = route.provider.name().to_string();
    let patience = route.provider.timeouts().idle.min(flight::MAX_PATIENCE);
    let give_up = |flight: Arc<Flight>| async move {
        pipeline.flights.remove(lookup.key, &flight);
        flight.publish(Event::End(End::LookAgain), patience).await;
    };
    if let Some(entry) = lookup.entry().await {
        give_up(flight).await;
        return Flown::Hit(entry);
    }
    let lease = match &pipeline.shared_flights {
        None => None,
        Some(shared) => match shared.lead_or_relay(lookup.key).await {
            Turn::Lead(lease) => Some(lease),
            Turn::Relay => {
                let shared = Arc::clone(shared);
                return relay_remote(lookup, plan, (flight, subscription), shared, patience).await;
            }
            Turn::Alone => None,
        },
    };
    let request = &serving.exchange.request;
    let tokens = match reserve(serving).await {
        Ok(tokens) => tokens,
        Err(error) => {
            // Followers are other callers: they look again and one of them
            // leads instead.
            give_up(flight).await;
            return Flown::Answered(error.into_response());
        }
    };
    let mode = pipeline.cache.settings.mode;
    let store = (mode.writes() && !lookup.control.no_store).then(|| StoreJob {
        request_body: request.raw().clone(),
        model: request.model().to_string(),
    });
    pipeline.background.spawn(leader::run(LeaderJob {
        cache: Arc::clone(&pipeline.cache),
        flights: Arc::clone(&pipeline.flights),
        id: lookup.key.clone(),
        flight,
        plan,
        store,
        tokens,
        patience,
        lease,
        out: None,
    }));
    let max_bytes = pipeline.cache.settings.max_entry_bytes;
    let response = follow::respond(subscription, &provider, &serving.tap, max_bytes).await;
    Flown::Answered(response.unwrap_or_else(|| follow::no_answer(&provider)))
}

/// Another instance leads this key: its answer is relayed from Redis into
/// this flight as it comes (the client and any local followers get it
/// live); with nothing relayed (that leader died or got no answer), look in
/// the cache and else try the flight again (leading it, now the lease is
/// free).
async fn relay_remote(
    lookup: &Lookup<'_>,
    plan: CallPlan,
    (flight, subscription): (Arc<Flight>, Subscription),
    shared: Arc<SharedFlights>,
    patience: std::time::Duration,
) -> Flown {
    let serving = lookup.serving;
    let pipeline = serving.pipeline;
    serving
        .tap
        .slot
        .update(|notes| notes.metering.shared = true);
    pipeline.metrics.flight_joined();
    let flights = Arc::clone(&pipeline.flights);
    let key = lookup.key.clone();
    pipeline
        .background
        .spawn(shared_stream::relay(shared, key, flights, flight, patience));
    let provider = plan.targets[0].route.provider.name().to_string();
    let max_bytes = pipeline.cache.settings.max_entry_bytes;
    if let Some(response) = follow::respond(subscription, &provider, &serving.tap, max_bytes).await
    {
        return Flown::Answered(response);
    }
    serving
        .tap
        .slot
        .update(|notes| notes.metering.shared = false);
    match lookup.entry().await {
        Some(entry) => Flown::Hit(entry),
        None => Flown::Retry(plan),
    }
}
