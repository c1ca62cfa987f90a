//! `POST /v1/chat/completions`: parse, route, then serve from the cache or
//! from the provider (one upstream call for identical requests in flight).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Caller;
use crate::cache::key::{self, KeyContext};
use crate::cache::{CacheControl, CacheKey};
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let raw = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge {
            limit: state.config.max_body_bytes,
        },
        _ => AppError::BodyUnreadable,
    })?;
    let chat = ChatBody::parse(raw)?;
    slot.update(|entry| {
        entry.model = Some(chat.model().to_string());
        entry.stream = Some(chat.stream());
        if state.request_log.log_bodies() {
            entry.request_body = Some(chat.raw().clone());
        }
    });

    let route = state.registry.resolve(chat.model())?;
    slot.update(|entry| {
        entry.provider = Some(route.provider.name().to_string());
        entry.upstream_model = Some(route.upstream_model.clone());
    });
    // With the cache off there is no key to compute: a plain proxy hop.
    let key = match state.cache.settings.mode {
        CacheMode::Off => None,
        _ => Some(cache_key(&state, &caller, &route, &chat)?),
    };
    slot.update(|entry| entry.cache_key = key.as_ref().map(CacheKey::to_string));

    let (mut response, status) = match &key {
        Some(key) => answer(&state, &caller, &headers, &route, &chat, key).await,
        None => (relay(&caller, &headers, &route, &chat).await, "BYPASS"),
    };
    slot.update(|entry| entry.cache = Some(status));
    let response_headers = response.headers_mut();
    response_headers.insert(X_CACHE, HeaderValue::from_static(status));
    if let Some(value) = key.and_then(|k| HeaderValue::from_str(k.as_str()).ok()) {
        response_headers.insert(X_CACHE_KEY, value);
    }
    if !response_headers.contains_key(PROVIDER) {
        if let Ok(value) = HeaderValue::from_str(route.provider.name()) {
            response_headers.insert(PROVIDER, value);
        }
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

fn upstream_request(
    caller: &Caller,
    headers: &HeaderMap,
    route: &Route,
    chat: &ChatBody,
) -> reqwest::RequestBuilder {
    route.provider.chat_request(
        chat.for_upstream(&route.upstream_model),
        Forwarded {
            client_authorization: caller.passthrough_authorization.as_ref(),
            headers: Some(headers),
        },
    )
}

/// Cache off: send and relay.
async fn relay(caller: &Caller, headers: &HeaderMap, route: &Route, chat: &ChatBody) -> Response {
    let request = upstream_request(caller, headers, route, chat);
    match proxy::send(request, route.provider.as_ref()).await {
        Ok(upstream) => proxy::relay(upstream, route.provider.name()),
        Err(error) => error.into_response(),
    }
}

/// The response and the `x-cache` status.
async fn answer(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    route: &Route,
    chat: &ChatBody,
    key: &CacheKey,
) -> (Response, &'static str) {
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
    let hit = |entry| (replay::replay(entry, replay_form(chat, headers)), "HIT");
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
    let patience = route.provider.read_timeout().min(flight::MAX_PATIENCE);
    let id = (key.clone(), chat.stream());
    // A flight can end (its answer stored) between the lookup above and the
    // join below. So a new leader looks once more before calling upstream,
    // and if the answer is there, sends its followers to the cache as well.
    for _ in 0..2 {
        match cache.flights.join(&id, cache.settings.max_entry_bytes) {
            Joined::Follower(subscription) => {
                if let Some(response) = flight::respond(subscription, provider).await {
                    return (response, status);
                }
                if let Some(entry) = lookup().await {
                    return hit(entry);
                }
            }
            Joined::Leader(flight, subscription) => {
                if let Some(entry) = lookup().await {
                    cache.flights.remove(&id, &flight);
                    flight.publish(Event::End(End::InCache), patience).await;
                    return hit(entry);
                }
                let store = (mode.writes() && !control.no_store).then(|| StoreJob {
                    request_body: chat.raw().clone(),
                    model: chat.model().to_string(),
                    upstream_model: route.upstream_model.clone(),
                });
                tokio::spawn(leader::run(LeaderJob {
                    cache: Arc::clone(cache),
                    id,
                    flight,
                    request: upstream_request(caller, headers, route, chat),
                    provider: Arc::clone(&route.provider),
                    store,
                    patience,
                }));
                let response = flight::respond(subscription, provider).await;
                return (
                    response.unwrap_or_else(|| flight::no_answer(provider)),
                    status,
                );
            }
        }
    }
    // Two flights in a row sent us to a cache that then missed (an entry
    // deleted by hand meanwhile): just proxy.
    (relay(caller, headers, route, chat).await, status)
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
