//! The leader's task: call the upstream once (with retries and fallbacks,
//! [`crate::upstream`]), hand every chunk to the flight's listeners as it
//! arrives, and store the answer when it is complete and cacheable — under
//! the key of the model the client asked for, whichever model answered.
//!
//! The entry is stored *before* listeners see the end of the body, so a
//! client that has read a whole answer and asks again gets a hit. Nothing is
//! stored for a non-2xx status, a body that is not a complete answer (see
//! [`crate::cache::validate`]), a cut stream, or an answer larger than
//! `cache.max_entry_bytes`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures::StreamExt;

use crate::cache::entry::{ENTRY_FORMAT, now_ms, rfc3339};
use crate::cache::{BodyKind, Cache, CacheEntry, CacheKey, ChunkTiming, EntryMeta, validate};
use crate::flight::{End, Event, Flight, FlightId};
use crate::limits::TokenReservation;
use crate::proxy::Head;
use crate::upstream::{self, Plan};

/// Everything the task needs; it outlives the request that started it.
pub struct LeaderJob {
    pub cache: Arc<Cache>,
    pub id: FlightId,
    pub flight: Arc<Flight>,
    /// The model asked for and its fallbacks.
    pub plan: Plan,
    /// `None` when the answer must not be stored (mode or `no-store`).
    pub store: Option<StoreJob>,
    /// Tokens reserved for the caller's limit, settled with the usage.
    pub tokens: Option<TokenReservation>,
    /// How long a slow listener is waited for.
    pub patience: Duration,
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
    let answer = match upstream::call(&job.plan).await {
        Ok(mut answer) => {
            answer.settle_tokens(job.tokens.take());
            answer
        }
        Err(error) => {
            if let Some(tokens) = job.tokens.take() {
                tokens.settle(0);
            }
            job.finish(End::Refused(error)).await;
            return;
        }
    };
    let head = answer.head;
    let route = answer.route;
    let storable_kind = head.kind.filter(|_| head.status.is_success());
    job.flight
        .publish(Event::Head(head.clone()), job.patience)
        .await;

    let mut body = answer.body;
    let mut timings = Vec::new();
    let mut first_byte = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                let elapsed = started.elapsed();
                first_byte.get_or_insert(elapsed);
                timings.push(ChunkTiming {
                    offset_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    len: chunk.len() as u64,
                });
                let listeners = job.flight.publish(Event::Chunk(chunk), job.patience).await;
                if listeners == 0 && !job.cache.settings.complete_on_disconnect {
                    // Everyone left and finishing is not wanted: drop the
                    // upstream connection, store nothing.
                    let fault = crate::upstream::StreamFault::Broken;
                    job.finish(End::Cut(fault)).await;
                    return;
                }
            }
            Err(fault) => {
                tracing::debug!(provider = route.provider.name(), %fault, "answer not cached");
                job.finish(End::Cut(fault)).await;
                return;
            }
        }
    }

    if let (Some(store), Some(kind)) = (job.store.take(), storable_kind) {
        let timing = Timing {
            started,
            first_byte,
            chunks: timings,
        };
        if let Some(entry) = build_entry(&job.flight, &job.id, &head, kind, &store, &route, timing)
        {
            job.cache.save(entry, store.request_body).await;
        }
    }
    job.finish(End::Complete).await;
}

impl LeaderJob {
    /// Ends the flight. Takes it off the list first, so requests that
    /// arrive after a client saw the end find the stored entry instead.
    async fn finish(&self, end: End) {
        self.cache.flights.remove(&self.id, &self.flight);
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
    head: &Head,
    kind: BodyKind,
    store: &StoreJob,
    answered_by: &crate::providers::Route,
    timing: Timing,
) -> Option<CacheEntry> {
    let key = key.as_str();
    let Some(chunks) = flight.retained_body() else {
        tracing::debug!(key, "answer larger than cache.max_entry_bytes; not cached");
        return None;
    };
    let body = Bytes::from(chunks.concat());
    let usage = match validate::check(kind, &body) {
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
