//! The leader's task: call the upstream once (with retries and fallbacks,
//! [`crate::upstream`]), hand every chunk to the flight's listeners as it
//! arrives, and store the answer when it is complete and cacheable — under
//! the key of the model the client asked for, whichever model answered.
//!
//! The entry is stored *before* listeners see the end of the body, so a
//! client that has read a whole answer and asks again gets a hit. Nothing is
//! stored for a non-2xx status, a body that is not a complete answer (as its
//! wire judges it, [`crate::wire::Wire::check`]), a cut stream, or an answer
//! larger than `cache.max_entry_bytes`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures::StreamExt;

use super::flight::{End, Event, Flight, FlightId, Flights};
use super::shared_flight::LeaseGuard;
use super::shared_stream::StreamOut;
use crate::cache::entry::{ENTRY_FORMAT, now_ms, rfc3339};
use crate::cache::{Cache, CacheEntry, CacheKey, ChunkTiming, EntryMeta};
use crate::limits::TokenReservation;
use crate::stream::StreamFault;
use crate::upstream::{self, AnswerHead, CallPlan, Route};
use crate::wire::BodyKind;

/// Everything the task needs; it outlives the request that started it.
pub struct LeaderJob {
    pub cache: Arc<Cache>,
    pub flights: Arc<Flights>,
    pub id: FlightId,
    pub flight: Arc<Flight>,
    /// The model asked for and its fallbacks.
    pub plan: CallPlan,
    /// `None` when the answer must not be stored (mode or `no-store`).
    pub store: Option<StoreJob>,
    /// Tokens reserved for the caller's limit, settled with the usage.
    pub tokens: Option<TokenReservation>,
    /// How long a slow listener is waited for.
    pub patience: Duration,
    /// The key's lease across instances, when they share the cache.
    pub lease: Option<LeaseGuard>,
    /// Where the answer goes for waiters on other instances (with a lease).
    pub out: Option<StreamOut>,
}

/// What is needed to write the entry (its key is the flight's).
pub struct StoreJob {
    /// The client's request body, stored beside the answer.
    pub request_body: Bytes,
    /// The model as the client named it.
    pub model: String,
}

/// Runs the flight to its end.
pub async fn run(mut job: LeaderJob) {
    let started = Instant::now();
    job.out = job.lease.as_ref().map(LeaseGuard::stream_out);
    let Some(answer) = job.call().await else {
        return;
    };
    let (head, route) = (answer.head, answer.route);
    if let Some(out) = &job.out {
        out.head(&head);
    }
    job.flight
        .publish(Event::Head(head.clone()), job.patience)
        .await;
    let Some(timing) = job.pass_on(answer.body, &route, started).await else {
        return;
    };
    let storable_kind = head.kind.filter(|_| head.status.is_success());
    if let (Some(store), Some(kind)) = (job.store.take(), storable_kind)
        && let Some(entry) = build_entry(&job.flight, &job.id, &head, kind, &store, &route, timing)
    {
        job.cache.save(entry, store.request_body).await;
        if let Some(lease) = job.lease.as_mut() {
            lease.stored();
        }
    }
    job.finish(End::Complete).await;
}

impl LeaderJob {
    /// The committed answer, or `None` once the flight was told why there
    /// is none. The token reservation is settled either way.
    async fn call(&mut self) -> Option<crate::upstream::Answer> {
        match upstream::call(&self.plan).await {
            Ok(mut answer) => {
                answer.settle_tokens(self.tokens.take());
                Some(answer)
            }
            Err(error) => {
                if let Some(tokens) = self.tokens.take() {
                    tokens.settle(0);
                }
                self.finish(End::Refused(error)).await;
                None
            }
        }
    }

    /// Hands every chunk to the listeners as it comes, noting when each
    /// came; `None` once the flight ended early (the body broke off, or
    /// everyone left and finishing is not wanted).
    async fn pass_on(
        &self,
        mut body: crate::upstream::UpstreamBody,
        route: &Route,
        started: Instant,
    ) -> Option<Timing> {
        let mut timing = Timing {
            started,
            first_byte: None,
            chunks: Vec::new(),
        };
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(fault) => {
                    tracing::debug!(provider = route.provider.name(), %fault, "answer not cached");
                    self.finish(End::Cut(fault)).await;
                    return None;
                }
            };
            let elapsed = started.elapsed();
            timing.first_byte.get_or_insert(elapsed);
            timing.chunks.push(ChunkTiming {
                offset_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                len: chunk.len() as u64,
            });
            if let Some(out) = &self.out {
                out.chunk(&chunk);
            }
            let listeners = self
                .flight
                .publish(Event::Chunk(chunk), self.patience)
                .await;
            if listeners == 0 && !self.cache.settings.complete_on_disconnect {
                // Everyone left and finishing is not wanted: drop the
                // upstream connection, store nothing.
                self.finish(End::Cut(StreamFault::Broken)).await;
                return None;
            }
        }
        Some(timing)
    }

    /// Ends the flight. Takes it off the list first, so requests that
    /// arrive after a client saw the end find the stored entry instead.
    async fn finish(&self, end: End) {
        if let Some(out) = &self.out {
            out.end(matches!(end, End::Complete));
        }
        self.flights.remove(&self.id, &self.flight);
        self.flight.publish(Event::End(end), self.patience).await;
    }
}

struct Timing {
    started: Instant,
    first_byte: Option<Duration>,
    chunks: Vec<ChunkTiming>,
}

fn build_entry(
    flight: &Flight,
    key: &CacheKey,
    head: &AnswerHead,
    kind: BodyKind,
    store: &StoreJob,
    answered_by: &Route,
    timing: Timing,
) -> Option<CacheEntry> {
    let key = key.as_str();
    let Some(chunks) = flight.retained_body() else {
        tracing::debug!(key, "answer larger than cache.max_entry_bytes; not cached");
        return None;
    };
    let body = Bytes::from(chunks.concat());
    let usage = match head.wire.check(kind, &body) {
        Ok(usage) => usage,
        Err(why) => {
            tracing::debug!(key, %why, "answer not cached");
            return None;
        }
    };
    let created_ms = now_ms();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let meta = EntryMeta {
        format: ENTRY_FORMAT,
        key: key.to_string(),
        created_ms,
        created: rfc3339(created_ms, chrono::SecondsFormat::Millis),
        status: head.status.as_u16(),
        content_type: head
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        kind,
        wire: head.wire,
        provider: answered_by.provider.name().to_string(),
        upstream_model: answered_by.upstream_model.clone(),
        model: store.model.clone(),
        usage,
        ttfb_ms: timing.first_byte.map(ms),
        latency_ms: ms(timing.started.elapsed()),
        bytes: 0,
        sha256: String::new(),
        chunks: if kind == BodyKind::Sse {
            timing.chunks
        } else {
            Vec::new()
        },
    };
    Some(CacheEntry::seal(meta, body))
}
