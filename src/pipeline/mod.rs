//! The pipeline: what happens to a request between its dialect and the
//! upstream, free of any wire format. In order:
//!
//! 1. route: the model name → provider and upstream model, plus fallbacks
//!    ([`crate::upstream::Registry`]); the request counts against its key's
//!    requests per minute ([`rate_limits`]) and is admitted by its spend
//!    budgets ([`budget`]);
//! 2. key: the cache key from the request's deciding fields
//!    ([`crate::cache::key`]);
//! 3. look up: a hit is replayed in the request's form ([`replay`]);
//! 4. a miss joins or leads a flight ([`flight`]): the leader's task
//!    ([`leader`]) calls upstream once, hands every chunk to every listener
//!    ([`follow`]) and stores a complete answer before anyone sees its end;
//! 5. relay: each client's chunks pass its [`tap`] (usage noted, the
//!    dialect's rendering) on the way out.
//!
//! With the cache off, step 4 is a plain call and relay ([`cached::relay`]).
//! What a dialect provides and the pipeline asks of it: [`exchange`].

pub mod budget;
mod cached;
pub mod exchange;
pub mod flight;
pub mod follow;
mod item_answer;
pub mod item_flights;
mod items;
pub mod leader;
pub mod rate_limits;
pub mod replay;
pub mod shared_flight;
mod shared_stream;
pub mod tap;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

pub use exchange::{Answered, Dialect, Exchange, Itemized, ParsedRequest, ReplyForm};

use crate::budgets::Budgets;
use crate::cache::key::{self, KeyContext};
use crate::cache::{Cache, CacheKey};
use crate::caller::Caller;
use crate::config::live::Current;
use crate::config::{CacheMode, LimitsConfig, ProviderKind};
use crate::error::AppError;
use crate::headers::{ANSWERING_MODEL, PROVIDER, X_CACHE, X_CACHE_KEY, X_CACHE_REPLAY};
use crate::limits::RateLimits;
use crate::limits::shared::SharedRpm;
use crate::metrics::Metrics;
use crate::notes::NoteSlot;
use crate::prices::PriceTable;
use crate::upstream::providers::Forwarded;
use crate::upstream::redact::Redactor;
use crate::upstream::{CallPlan, Outbound, Registry, Route, Target};
use crate::wire::Wire;
use flight::Flights;
use tap::ClientTap;

/// The part of the configuration a reload replaces that the pipeline
/// reads; a request keeps the one it started with to its end.
#[derive(Debug)]
pub struct Routing {
    pub registry: Arc<Registry>,
    pub limits: Arc<RateLimits>,
    /// The configured limits, to tell which keys have a token limit.
    pub limit_settings: LimitsConfig,
    /// Masks every configured provider key in upstream answers.
    pub redactor: Redactor,
    /// Spend budgets and the ledger they are checked against.
    pub budgets: Arc<Budgets>,
    /// Prices, to estimate a request's cost for its budget.
    pub prices: Arc<PriceTable>,
    /// Requests per minute counted in Redis, when it is configured.
    pub shared_rpm: Option<Arc<SharedRpm>>,
}

impl Routing {
    /// Whether the caller `id` has a tokens-per-minute limit.
    pub fn token_limited(&self, id: &str) -> bool {
        let settings = &self.limit_settings;
        settings
            .per_key
            .get(id)
            .unwrap_or(&settings.default)
            .tokens_per_minute
            .is_some()
    }
}

/// What a handler hands the pipeline: see [`serve`].
#[derive(Clone)]
pub struct Pipeline {
    pub routing: Current<Routing>,
    pub cache: Arc<Cache>,
    pub flights: Arc<Flights>,
    pub metrics: Arc<Metrics>,
    /// Where leaders run: they may outlive their request; shutdown waits.
    pub background: TaskTracker,
    /// Whether request bodies go into the request log.
    pub log_bodies: bool,
    /// Single flight across instances, when they share the cache.
    pub shared_flights: Option<Arc<shared_flight::SharedFlights>>,
}

/// What the edge learned about a request.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub caller: Caller,
    pub slot: NoteSlot,
    pub headers: HeaderMap,
    /// When the handler took the request; total timeouts count from here.
    pub started: Instant,
}

/// One request on its way, as the stages need it.
struct Serving<'a> {
    pipeline: &'a Pipeline,
    /// The routing snapshot this request keeps to its end.
    routing: &'a Routing,
    incoming: &'a Incoming,
    exchange: &'a Exchange,
    /// What the client's answer passes through on its way out.
    tap: ClientTap,
}

/// Serves one request: routed, counted, keyed, then answered from the
/// cache, a flight, or the upstream directly.
pub async fn serve(
    pipeline: &Pipeline,
    incoming: Incoming,
    exchange: Exchange,
) -> Result<Response, AppError> {
    note_request(pipeline, &incoming, &exchange);
    let routing = pipeline.routing.now();
    let routes = routing.registry.plan(exchange.request.model())?;
    let route = &routes[0];
    rate_limits::count_request(&routing, &incoming.caller).await?;
    budget::admit(&routing, &incoming, route, exchange.request.as_ref()).await?;
    incoming.slot.update(|notes| {
        notes.provider = Some(route.provider.name().to_string());
        notes.upstream_model = Some(route.upstream_model.clone());
    });
    if let Some(items) = exchange.request.itemized()
        && pipeline.cache.settings.mode != CacheMode::Off
    {
        return items::serve(pipeline, &routing, &incoming, &exchange, &routes, items).await;
    }
    // With the cache off there is no key to compute: a plain proxy hop.
    let key = match pipeline.cache.settings.mode {
        CacheMode::Off => None,
        _ => Some(cache_key(pipeline, &incoming.caller, route, &exchange)?),
    };
    incoming
        .slot
        .update(|notes| notes.cache_key = key.as_ref().map(CacheKey::to_string));
    let (plan, tap) = plan(pipeline, &routing, &incoming, &exchange, &routes)?;
    let serving = Serving {
        pipeline,
        routing: &routing,
        incoming: &incoming,
        exchange: &exchange,
        tap,
    };
    let (response, status) = match &key {
        Some(key) => cached::answer(&serving, plan, key).await,
        None => (cached::relay(&serving, &plan).await, "BYPASS"),
    };
    Ok(finish(
        response,
        status,
        key.as_ref(),
        route,
        &incoming.slot,
    ))
}

/// What the notes know of the request before it is routed.
fn note_request(pipeline: &Pipeline, incoming: &Incoming, exchange: &Exchange) {
    let request = &exchange.request;
    incoming.slot.update(|notes| {
        notes.model = Some(request.model().to_string());
        notes.stream = Some(request.stream());
        if pipeline.log_bodies {
            notes.request_body = Some(request.raw().clone());
        }
        notes.metering.recorded = request.metered();
        notes.metering.prompt = Some(request.prompt());
    });
}

fn cache_key(
    pipeline: &Pipeline,
    caller: &Caller,
    route: &Route,
    exchange: &Exchange,
) -> Result<CacheKey, AppError> {
    let scope = pipeline.cache.scope(caller);
    let context = KeyContext {
        endpoint: exchange.dialect.endpoint(),
        provider: route.provider.name(),
        base_url: route.provider.public_base_url(),
        upstream_model: &route.upstream_model,
        scope: &scope,
        ignored_fields: &pipeline.cache.settings.ignore_fields,
    };
    let fields = exchange.request.key_fields();
    key::derive(
        context,
        fields.iter().map(|(name, value)| (*name, value.as_ref())),
    )
    .map_err(|e| AppError::InvalidJson(format!("request body is not valid JSON: {e}")))
}

/// The upstream plan (the model and its fallbacks, each with its request)
/// and the client's tap. A stream whose client did not ask for usage:
/// providers that can be asked for it are, and the extra chunk is kept from
/// the client. A fallback whose API cannot take the request is left out;
/// the model asked for itself is an error.
fn plan(
    pipeline: &Pipeline,
    routing: &Routing,
    incoming: &Incoming,
    exchange: &Exchange,
    routes: &[Route],
) -> Result<(CallPlan, ClientTap), AppError> {
    let request = &exchange.request;
    let usage_unasked = request.stream() && !request.wants_stream_usage();
    let asks_usage = |route: &Route| usage_unasked && route.provider.stream_usage();
    let mut targets = Vec::with_capacity(routes.len());
    for (index, route) in routes.iter().enumerate() {
        match target(request.as_ref(), route, asks_usage(route)) {
            Ok(target) => targets.push(target),
            Err(error) if index == 0 => return Err(error),
            Err(error) => tracing::warn!(
                model = %route.label(),
                %error,
                "fallback left out: its provider cannot take this request"
            ),
        }
    }
    let caller = &incoming.caller;
    let plan = CallPlan {
        targets,
        forwarded: Forwarded::from_client(
            &incoming.headers,
            caller.passthrough_authorization.clone(),
        ),
        started: incoming.started,
        metrics: Arc::clone(&pipeline.metrics),
        redactor: routing.redactor.with(caller.passthrough_key()),
    };
    let paced = incoming
        .headers
        .get(X_CACHE_REPLAY)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"paced"));
    // Only OpenAI-compatible streams may come without usage.
    let reports_usage = routes[0].provider.kind() != ProviderKind::OpenAi;
    let tap = ClientTap {
        slot: incoming.slot.clone(),
        gather_text: usage_unasked && !asks_usage(&routes[0]) && !reports_usage,
        dialect: Arc::clone(&exchange.dialect),
        form: ReplyForm {
            stream: request.stream(),
            include_usage: request.wants_stream_usage(),
            paced,
        },
    };
    Ok((plan, tap))
}

/// One model's request: in the client's own API when the provider speaks
/// it, else in the exchange's, put in the provider's form.
fn target(request: &dyn ParsedRequest, route: &Route, ask_usage: bool) -> Result<Target, AppError> {
    let provider = &route.provider;
    let model = &route.upstream_model;
    let own = request.wire();
    let (wire, body) = match provider.speaks(own) {
        true => (own, request.upstream_body(model, ask_usage)),
        false => (Wire::OpenAiChat, request.hub_body(model, ask_usage)?),
    };
    let outbound = Outbound {
        wire,
        body,
        model: model.clone(),
        stream: request.stream(),
        translated: own != wire,
    };
    Ok(Target {
        route: route.clone(),
        request: provider.prepare(outbound)?,
    })
}

/// The response with the cache headers, and the notes told which model
/// answered (a fallback's, when one did).
fn finish(
    mut response: Response,
    status: &'static str,
    key: Option<&CacheKey>,
    route: &Route,
    slot: &NoteSlot,
) -> Response {
    let answered_by = response
        .headers()
        .get(ANSWERING_MODEL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once('/'))
        .map(|(provider, model)| (provider.to_string(), model.to_string()));
    slot.update(|notes| {
        notes.cache = Some(status);
        if let Some((provider, model)) = answered_by {
            notes.provider = Some(provider);
            notes.upstream_model = Some(model);
        }
    });
    let headers = response.headers_mut();
    headers.insert(X_CACHE, HeaderValue::from_static(status));
    if let Some(value) = key.and_then(|k| HeaderValue::from_str(k.as_str()).ok()) {
        headers.insert(X_CACHE_KEY, value);
    }
    if !headers.contains_key(PROVIDER)
        && let Ok(value) = HeaderValue::from_str(route.provider.name())
    {
        headers.insert(PROVIDER, value);
    }
    response
}
