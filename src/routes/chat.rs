//! `POST /v1/chat/completions`: parse, route, then serve from the cache or
//! from the provider (one upstream call for identical requests in flight).

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::admission;
use crate::app::{AppState, Live};
use crate::auth::Caller;
use crate::cache::key::{self, KeyContext};
use crate::cache::{CacheControl, CacheEntry, CacheKey};
use crate::chat_body::ChatBody;
use crate::config::CacheMode;
use crate::error::AppError;
use crate::flight::{self, End, Event, Joined};
use crate::leader::{self, LeaderJob, StoreJob};
use crate::observe::PROVIDER;
use crate::providers::{Forwarded, Route};
use crate::proxy;
use crate::replay::{self, ReplayForm};
use crate::request_log::LogSlot;
use crate::upstream::{self, ANSWERING_MODEL, Plan, Target};
use crate::usage::Usage;
use crate::usage::stream::ClientTap;

/// `HIT`, `MISS` or `BYPASS`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// The cache key of the request.
pub const X_CACHE_KEY: HeaderName = HeaderName::from_static("x-cache-key");
/// `paced` replays a hit at the pace it was recorded.
const X_CACHE_REPLAY: &str = "x-cache-replay";

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<LogSlot>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let raw = super::body::read(body, &state.config).await?;
    let chat = ChatBody::parse(raw)?;
    slot.update(|entry| {
        entry.model = Some(chat.model().to_string());
        entry.stream = Some(chat.stream());
        if state.request_log.log_bodies() {
            entry.request_body = Some(chat.raw().clone());
        }
        entry.metering.chat = true;
        entry.metering.prompt = Some(chat.raw().clone());
    });

    let live = state.live();
    let routes = live.registry.plan(chat.model())?;
    let route = &routes[0];
    admission::count_request(&live, &caller)?;
    slot.update(|entry| {
        entry.provider = Some(route.provider.name().to_string());
        entry.upstream_model = Some(route.upstream_model.clone());
    });
    // With the cache off there is no key to compute: a plain proxy hop.
    let key = match state.cache.settings.mode {
        CacheMode::Off => None,
        _ => Some(cache_key(&state, &caller, route, &chat)?),
    };
    slot.update(|entry| entry.cache_key = key.as_ref().map(CacheKey::to_string));

    // A stream whose client did not ask for usage: providers that can be
    // asked for it are, and the extra chunk is kept from the client.
    let usage_unasked = chat.stream() && !chat.wants_stream_usage();
    let asks_usage = |route: &Route| usage_unasked && route.provider.stream_usage();
    let plan = Plan {
        targets: routes
            .iter()
            .map(|route| Target {
                route: route.clone(),
                body: chat.for_upstream(&route.upstream_model, asks_usage(route)),
            })
            .collect(),
        forwarded: Forwarded::from_client(&headers, caller.passthrough_authorization.clone()),
        started,
        metrics: Arc::clone(&state.metrics),
        redactor: live.redactor.with(caller.passthrough_key()),
    };
    let tap = ClientTap {
        slot: slot.clone(),
        drop_usage_chunks: usage_unasked,
        gather_text: usage_unasked && !asks_usage(route),
    };
    let ask = Ask {
        state: &state,
        live: &live,
        caller: &caller,
        headers: &headers,
        chat: &chat,
        tap: &tap,
    };
    let (mut response, status) = match &key {
        Some(key) => answer(&ask, plan, key).await,
        None => (relay(&ask, &plan).await, "BYPASS"),
    };
    // The log names the model that answered: a fallback's, when one did.
    let answered_by = response
        .headers()
        .get(ANSWERING_MODEL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once('/'))
        .map(|(provider, model)| (provider.to_string(), model.to_string()));
    slot.update(|entry| {
        entry.cache = Some(status);
        if let Some((provider, model)) = answered_by {
            entry.provider = Some(provider);
            entry.upstream_model = Some(model);
        }
    });
    let response_headers = response.headers_mut();
    response_headers.insert(X_CACHE, HeaderValue::from_static(status));
    if let Some(value) = key.and_then(|k| HeaderValue::from_str(k.as_str()).ok()) {
        response_headers.insert(X_CACHE_KEY, value);
    }
    if !response_headers.contains_key(PROVIDER)
        && let Ok(value) = HeaderValue::from_str(route.provider.name())
    {
        response_headers.insert(PROVIDER, value);
    }
    Ok(response)
}

fn cache_key(
    state: &AppState,
    caller: &Caller,
    route: &Route,
    chat: &ChatBody,
) -> Result<CacheKey, AppError> {
    let base_url = route.provider.public_base_url();
    let scope = state.cache.scope(caller);
    let context = KeyContext {
        endpoint: "chat/completions",
        provider: route.provider.name(),
        base_url: &base_url,
        upstream_model: &route.upstream_model,
        scope: &scope,
        ignored_fields: &state.cache.settings.ignore_fields,
    };
    key::derive(context, chat)
        .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))
}

/// One request, as the functions below need it.
struct Ask<'a> {
    state: &'a AppState,
    /// The configuration snapshot this request keeps to its end.
    live: &'a Live,
    caller: &'a Caller,
    headers: &'a HeaderMap,
    chat: &'a ChatBody,
    /// What the client's answer passes through on its way out.
    tap: &'a ClientTap,
}

/// Call and relay, without the cache.
async fn relay(ask: &Ask<'_>, plan: &Plan) -> Response {
    let tokens = match admission::reserve_tokens(ask.live, ask.caller, ask.chat).await {
        Ok(tokens) => tokens,
        Err(error) => return error.into_response(),
    };
    match upstream::call(plan).await {
        Ok(mut answer) => {
            answer.settle_tokens(tokens);
            proxy::relay(answer, ask.tap)
        }
        Err(error) => {
            if let Some(tokens) = tokens {
                tokens.settle(0);
            }
            error.into_response()
        }
    }
}

/// The response and the `x-cache` status.
async fn answer(ask: &Ask<'_>, plan: Plan, key: &CacheKey) -> (Response, &'static str) {
    let Ask {
        state,
        headers,
        chat,
        ..
    } = *ask;
    let route = plan.targets[0].route.clone();
    let cache = &state.cache;
    let mode = cache.settings.mode;
    let control = CacheControl::from_headers(headers);
    let reads = mode.reads() && !control.no_cache;
    let lookup = || async {
        match reads {
            true => cache.lookup(key, control.max_age).await,
            false => None,
        }
    };
    let hit = |entry: CacheEntry| {
        let usage = entry.meta.usage.as_ref().and_then(Usage::from_value);
        ask.tap.slot.update(|e| e.metering.usage = usage);
        (replay::replay(entry, replay_form(chat, headers)), "HIT")
    };
    if let Some(entry) = lookup().await {
        return hit(entry);
    }
    if mode == CacheMode::Offline {
        let error = AppError::CacheMiss {
            key: key.to_string(),
        };
        return (error.into_response(), "MISS");
    }
    let status = if control.bypasses() || !mode.reads() {
        "BYPASS"
    } else {
        "MISS"
    };
    let provider = route.provider.name();
    let patience = route.provider.timeouts().idle.min(flight::MAX_PATIENCE);
    let id = key.clone();
    let form = flight::Form {
        stream: chat.stream(),
        include_usage: chat.wants_stream_usage(),
        max_bytes: cache.settings.max_entry_bytes,
    };
    // A flight can end (its answer stored) between the lookup above and the
    // join below. So a new leader looks once more before calling upstream,
    // and if the answer is there, sends its followers to the cache as well.
    for _ in 0..2 {
        match cache.flights.join(&id, cache.settings.max_entry_bytes) {
            Joined::Follower(subscription) => {
                ask.tap.slot.update(|e| e.metering.shared = true);
                state.metrics.flight_joined();
                if let Some(response) = flight::respond(subscription, provider, ask.tap, form).await
                {
                    return (response, status);
                }
                ask.tap.slot.update(|e| e.metering.shared = false);
                if let Some(entry) = lookup().await {
                    return hit(entry);
                }
            }
            Joined::Leader(flight, subscription) => {
                if let Some(entry) = lookup().await {
                    cache.flights.remove(&id, &flight);
                    flight.publish(Event::End(End::LookAgain), patience).await;
                    return hit(entry);
                }
                let tokens = match admission::reserve_tokens(ask.live, ask.caller, chat).await {
                    Ok(tokens) => tokens,
                    Err(error) => {
                        // Followers are other callers: they look again and
                        // one of them leads instead.
                        cache.flights.remove(&id, &flight);
                        flight.publish(Event::End(End::LookAgain), patience).await;
                        return (error.into_response(), status);
                    }
                };
                let store = (mode.writes() && !control.no_store).then(|| StoreJob {
                    request_body: chat.raw().clone(),
                    model: chat.model().to_string(),
                });
                state.background().spawn(leader::run(LeaderJob {
                    cache: Arc::clone(cache),
                    id,
                    flight,
                    plan,
                    store,
                    tokens,
                    patience,
                }));
                let response = flight::respond(subscription, provider, ask.tap, form).await;
                return (
                    response.unwrap_or_else(|| flight::no_answer(provider)),
                    status,
                );
            }
        }
    }
    // Two flights in a row sent us to a cache that then missed (an entry
    // deleted by hand meanwhile): just proxy.
    (relay(ask, &plan).await, status)
}

fn replay_form(chat: &ChatBody, headers: &HeaderMap) -> ReplayForm {
    ReplayForm {
        stream: chat.stream(),
        include_usage: chat.wants_stream_usage(),
        paced: headers
            .get(X_CACHE_REPLAY)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"paced")),
    }
}
