//! Requests made of independent items (the inputs of an embeddings batch),
//! each cached on its own entry: every item is keyed and looked up alone,
//! only the items without an entry go upstream, in one request, and the
//! answer is put together in the client's order.
//!
//! The upstream call for the missing items runs through the same plan,
//! retries, fallbacks, rate limits and usage tap as any request (its usage
//! is what the record counts: items found in the cache cost nothing). A
//! batch answered entirely from the cache is a HIT with the items' stored
//! usage, so its cost shows as saved. Items are shared across concurrent
//! batches ([`super::item_flights`]): a batch missing an item another batch
//! is sending waits for it instead of sending it again; a batch whose
//! missing items all came that way is a MISS that cost nothing, like a
//! follower of a chat flight.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde_json::Value;

use super::exchange::{Exchange, Itemized};
use super::item_answer::{Verbatim, render};
use super::item_flights::{Item, Led};
use super::{Incoming, Pipeline, Routing, Serving, cached, finish, plan};
use crate::cache::entry::{ENTRY_FORMAT, EntryMeta, now_ms, rfc3339};
use crate::cache::key::{self, KeyContext};
use crate::cache::{CacheControl, CacheEntry, CacheKey};
use crate::config::CacheMode;
use crate::error::AppError;
use crate::tokens::Usage;
use crate::upstream::Route;
use crate::wire::{BodyKind, Wire, embeddings};

/// Serves an itemized request through the cache, item by item.
pub(super) async fn serve(
    pipeline: &Pipeline,
    routing: &Routing,
    incoming: &Incoming,
    exchange: &Exchange,
    routes: &[Route],
    items: &dyn Itemized,
) -> Result<Response, AppError> {
    let route = &routes[0];
    let keys = (0..items.count())
        .map(|index| item_key(pipeline, incoming, route, exchange, items, index))
        .collect::<Result<Vec<_>, _>>()?;
    let control = CacheControl::from_headers(&incoming.headers);
    let mode = pipeline.cache.settings.mode;
    let reads = mode.reads() && !control.no_cache;
    let found = look_up(pipeline, &keys, reads, control.max_age).await;
    let misses: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    let Some(&first_miss) = misses.first() else {
        return Ok(without_upstream(incoming, exchange, route, found, "HIT"));
    };
    if mode == CacheMode::Offline {
        let key = keys[first_miss].to_string();
        return Err(AppError::CacheMiss { key });
    }
    let status = match control.bypasses() || !mode.reads() {
        true => "BYPASS",
        false => "MISS",
    };
    let call = Call {
        pipeline,
        routing,
        incoming,
        exchange,
        routes,
        items,
        keys: &keys,
        stores: mode.writes() && !control.no_store,
    };
    match call.misses(found, &misses).await? {
        Gathered::Items(found, None) => {
            // Every missing item came from other batches' flights.
            pipeline.metrics.flight_joined();
            incoming.slot.update(|notes| notes.metering.shared = true);
            Ok(without_upstream(incoming, exchange, route, found, status))
        }
        Gathered::Items(found, Some(model)) => {
            let response = render(
                exchange,
                route,
                found.into_iter().flatten().collect(),
                &model,
            );
            Ok(finish(response, status, None, route, &incoming.slot))
        }
        Gathered::Relayed(response) => Ok(finish(response, status, None, route, &incoming.slot)),
    }
}

/// The items of a batch once its misses are filled, and the model that
/// answered when this batch called upstream itself; or the upstream's
/// response to relay as it is.
enum Gathered {
    Items(Vec<Option<Item>>, Option<Value>),
    Relayed(Response),
}

/// Each key's item, when the cache has it.
async fn look_up(
    pipeline: &Pipeline,
    keys: &[CacheKey],
    reads: bool,
    max_age: Option<u64>,
) -> Vec<Option<Item>> {
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        let entry = match reads {
            true => pipeline.cache.lookup(key, max_age).await,
            false => None,
        };
        found.push(entry.and_then(|entry| embeddings::stored_item(&entry.body)));
    }
    found
}

/// The answer when every item was found in the cache or in other batches'
/// flights: its items' stored usage noted (it costs nothing).
fn without_upstream(
    incoming: &Incoming,
    exchange: &Exchange,
    route: &Route,
    found: Vec<Option<Item>>,
    status: &'static str,
) -> Response {
    let tokens = found.iter().flatten().map(|(_, tokens)| tokens).sum();
    incoming.slot.update(|notes| {
        notes.metering.usage = Some(Usage {
            prompt_tokens: tokens,
            ..Usage::default()
        })
    });
    let model = Value::String(route.upstream_model.clone());
    let items = found.into_iter().flatten().collect();
    let response = render(exchange, route, items, &model);
    finish(response, status, None, route, &incoming.slot)
}

/// The missing items' answer, split.
struct Fresh {
    embeddings: Vec<Value>,
    model: Value,
    /// Each item's share of the reported prompt tokens.
    tokens: Vec<u64>,
}

/// The upstream side of one itemized request.
struct Call<'a> {
    pipeline: &'a Pipeline,
    routing: &'a Routing,
    incoming: &'a Incoming,
    exchange: &'a Exchange,
    routes: &'a [Route],
    items: &'a dyn Itemized,
    keys: &'a [CacheKey],
    /// Whether answered items are stored.
    stores: bool,
}

impl Call<'_> {
    /// Fills the items at `misses`: sends those no other batch is sending,
    /// then waits for the others; an item whose flight ended without it is
    /// sent afterwards.
    async fn misses(
        &self,
        mut found: Vec<Option<Item>>,
        misses: &[usize],
    ) -> Result<Gathered, AppError> {
        let flights = &self.pipeline.flights.items;
        let claims = flights.claim(misses.iter().map(|&i| (i, self.keys[i].clone())));
        let led = claims.led.indices();
        let mut model = None;
        if !led.is_empty() {
            let fresh = match self.upstream(&led).await? {
                Ok(fresh) => fresh,
                Err(response) => return Ok(Gathered::Relayed(response)),
            };
            model = Some(fresh.model.clone());
            self.settle(Some(&claims.led), &led, fresh, &mut found)
                .await;
        }
        drop(claims.led);
        let mut orphans = Vec::new();
        for (index, following) in claims.followed {
            match following.answer().await {
                Some(item) => found[index] = Some(item),
                None => orphans.push(index),
            }
        }
        if !orphans.is_empty() {
            let fresh = match self.upstream(&orphans).await? {
                Ok(fresh) => fresh,
                Err(response) => return Ok(Gathered::Relayed(response)),
            };
            model.get_or_insert_with(|| fresh.model.clone());
            self.settle(None, &orphans, fresh, &mut found).await;
        }
        Ok(Gathered::Items(found, model))
    }

    /// Puts the answered items at `indices` in place, hands them to their
    /// followers, then stores them.
    async fn settle(
        &self,
        led: Option<&Led<'_>>,
        indices: &[usize],
        fresh: Fresh,
        found: &mut [Option<Item>],
    ) {
        let answered = fresh.embeddings.into_iter().zip(fresh.tokens);
        for (&index, item) in indices.iter().zip(answered) {
            if let Some(led) = led {
                led.publish(index, &item);
            }
            found[index] = Some(item);
        }
        if !self.stores {
            return;
        }
        for &index in indices {
            if let Some((embedding, tokens)) = &found[index] {
                self.store(&self.keys[index], index, embedding, &fresh.model, *tokens)
                    .await;
            }
        }
    }

    /// Sends the items at `misses`: their embeddings, or the upstream's
    /// response to relay as it is (an error, or an answer that does not
    /// split into the items asked for).
    async fn upstream(&self, misses: &[usize]) -> Result<Result<Fresh, Response>, AppError> {
        let sub = Exchange {
            request: self.items.subset(misses)?,
            dialect: Arc::new(Verbatim(self.exchange.dialect.error_shape())),
        };
        let (plan, tap) = plan(
            self.pipeline,
            self.routing,
            self.incoming,
            &sub,
            self.routes,
        )?;
        let serving = Serving {
            pipeline: self.pipeline,
            routing: self.routing,
            incoming: self.incoming,
            exchange: &sub,
            tap,
        };
        let response = cached::relay(&serving, &plan).await;
        if !response.status().is_success() {
            return Ok(Err(response));
        }
        let (parts, body) = response.into_parts();
        // An item's vector is far below an entry's limit; the batch's body is
        // bounded by that many of them.
        let per_item =
            usize::try_from(self.pipeline.cache.settings.max_entry_bytes).unwrap_or(usize::MAX);
        let limit = per_item.max(1 << 20).saturating_mul(misses.len());
        let bytes =
            axum::body::to_bytes(body, limit)
                .await
                .map_err(|_| AppError::UpstreamBrokeOff {
                    provider: self.routes[0].provider.name().to_string(),
                })?;
        let Some((embeddings, model, usage)) = embeddings::split(&bytes, misses.len()) else {
            return Ok(Err(Response::from_parts(parts, Body::from(bytes))));
        };
        let reported = usage.and_then(|u| u["prompt_tokens"].as_u64());
        let tokens = self.shares(misses, &model, reported);
        Ok(Ok(Fresh {
            embeddings,
            model,
            tokens,
        }))
    }

    /// The reported prompt tokens shared among the items by their
    /// estimates (the last item takes the rounding), or the estimates.
    fn shares(&self, misses: &[usize], model: &Value, reported: Option<u64>) -> Vec<u64> {
        let model = model.as_str().unwrap_or_default();
        let estimates: Vec<u64> = misses
            .iter()
            .map(|&i| self.items.item_tokens(model, i).max(1))
            .collect();
        let Some(total) = reported else {
            return estimates;
        };
        let sum: u64 = estimates.iter().sum();
        let mut shares: Vec<u64> = estimates.iter().map(|e| total * e / sum.max(1)).collect();
        let given: u64 = shares.iter().sum();
        if let Some(last) = shares.last_mut() {
            *last += total.saturating_sub(given);
        }
        shares
    }

    /// Stores one item's answer under its own key.
    async fn store(
        &self,
        key: &CacheKey,
        index: usize,
        embedding: &Value,
        model: &Value,
        tokens: u64,
    ) {
        let route = &self.routes[0];
        let body = embeddings::item_answer(embedding, model, tokens);
        let created_ms = now_ms();
        let meta = EntryMeta {
            format: ENTRY_FORMAT,
            key: key.to_string(),
            created_ms,
            created: rfc3339(created_ms, chrono::SecondsFormat::Millis),
            status: 200,
            content_type: "application/json".into(),
            kind: BodyKind::Json,
            wire: Wire::OpenAiEmbeddings,
            provider: route.provider.name().to_string(),
            upstream_model: route.upstream_model.clone(),
            model: self.exchange.request.model().to_string(),
            usage: Some(serde_json::json!({"prompt_tokens": tokens, "total_tokens": tokens})),
            ttfb_ms: None,
            latency_ms: self.incoming.started.elapsed().as_secs_f64() * 1000.0,
            bytes: 0,
            sha256: String::new(),
            chunks: Vec::new(),
        };
        let Ok(request) = self.items.subset(&[index]) else {
            return;
        };
        let request = request.raw().clone();
        self.pipeline
            .cache
            .save(CacheEntry::seal(meta, body), request)
            .await;
    }
}

/// Item `index`'s cache key.
fn item_key(
    pipeline: &Pipeline,
    incoming: &Incoming,
    route: &Route,
    exchange: &Exchange,
    items: &dyn Itemized,
    index: usize,
) -> Result<CacheKey, AppError> {
    let scope = pipeline.cache.scope(&incoming.caller);
    let context = KeyContext {
        endpoint: exchange.dialect.endpoint(),
        provider: route.provider.name(),
        base_url: route.provider.public_base_url(),
        upstream_model: &route.upstream_model,
        scope: &scope,
        ignored_fields: &pipeline.cache.settings.ignore_fields,
    };
    let fields = items.item_key_fields(index);
    key::derive(
        context,
        fields.iter().map(|(name, value)| (*name, value.as_ref())),
    )
    .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))
}
