//! The route table and the layers around it. Every API route is served
//! both with and without the `/v1` prefix, because clients differ on
//! whether they append it.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::AppState;
use crate::admin::access::{require_dashboard_access, session};
use crate::admin::{cache, control, health, live, metrics, requests, stats, status};
use crate::api::{
    anthropic_messages, count_tokens, embeddings, models, openai_chat, openai_completions,
    responses,
};
use crate::config::live::Current;
use crate::dashboard;
use crate::edge::auth::require_access_key;
use crate::edge::body::read_whole;
use crate::edge::guard::{Guards, cors_layer};
use crate::edge::{self, EdgeState};
use crate::error::AppError;

/// Every endpoint, as `--help` and the unknown-URL error list them (the
/// `/v1` ones are also served without `/v1`). One list, so the help and the
/// error cannot drift apart; a test requests each one to check the router
/// has it.
pub const ENDPOINTS: &[&str] = &[
    "POST /v1/chat/completions",
    "POST /v1/completions",
    "POST /v1/embeddings",
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "POST /v1/responses",
    "GET /v1/models",
    "GET /v1/models/{id}",
    "GET /health",
    "GET /metrics",
    "GET /ui",
    "GET /api/session",
    "GET /api/live",
    "GET /api/stats",
    "GET /api/stats/series",
    "GET /api/requests",
    "GET /api/requests/{id}",
    "GET /api/cache",
    "GET /api/cache/{key}",
    "DELETE /api/cache/{key}",
    "POST /api/cache/check",
    "GET /api/status",
    "GET /api/keys",
    "POST /api/keys",
    "POST /api/reload",
];

/// [`ENDPOINTS`] as one line: `POST /v1/chat/completions, GET /v1/models, …`.
pub fn endpoint_list() -> String {
    ENDPOINTS.join(", ")
}

/// The whole application: the routes (access keys checked on the API
/// routes and `/metrics`, which shows model names and spend, not on
/// `/health`) and the edge layers every request passes.
pub fn build(state: AppState) -> Router {
    let dialects = [
        ("chat/completions", post(openai_chat::chat_completions)),
        ("completions", post(openai_completions::completions)),
        ("embeddings", post(embeddings::embeddings)),
        ("messages", post(anthropic_messages::messages)),
        ("messages/count_tokens", post(count_tokens::count_tokens)),
        ("responses", post(responses::responses)),
    ];
    let dialect_routes = dialects
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router
                .route(&format!("/v1/{path}"), handler.clone())
                .route(&format!("/{path}"), handler)
        })
        .route_layer(from_fn_with_state(state.clone(), read_whole));
    let api = Router::new()
        .merge(dialect_routes)
        .route("/v1/models", get(models::list_models))
        .route("/models", get(models::list_models))
        .route("/v1/models/{*id}", get(models::retrieve_model))
        .route("/models/{*id}", get(models::retrieve_model))
        .route("/metrics", get(metrics::metrics))
        .route_layer(from_fn_with_state(state.clone(), require_access_key));
    let dashboard_api = Router::new()
        .route("/api/session", get(session))
        .route("/api/live", get(live::live))
        .route("/api/stats", get(stats::stats))
        .route("/api/stats/series", get(stats::stats_series))
        .route("/api/requests", get(requests::list))
        .route("/api/requests/{id}", get(requests::one))
        .route("/api/cache", get(cache::list))
        .route("/api/cache/check", post(cache::check))
        .route(
            "/api/cache/{key}",
            get(cache::show).merge(delete(cache::delete)),
        )
        .route("/api/status", get(status::status))
        .route(
            "/api/keys",
            get(control::list_keys).post(control::change_keys),
        )
        .route("/api/reload", post(control::reload))
        .route_layer(from_fn_with_state(state.clone(), require_dashboard_access));
    let guards: Current<Guards> = EdgeState::from_ref(&state).guards;
    Router::new()
        .merge(api)
        .merge(dashboard_api)
        .route("/health", get(health::health))
        .route("/ui", get(dashboard::page))
        .route("/ui/{*path}", get(dashboard::file))
        .route("/", get(root))
        .fallback(unknown_url)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes))
        .layer(cors_layer(move |origin| {
            guards.now().origins.allows(origin)
        }))
        .layer(from_fn_with_state(state.clone(), edge::around))
        .with_state(state)
}

/// `GET /`: a browser is sent to the dashboard, anything else gets the
/// unknown-URL error as before.
async fn root(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    match dashboard::redirect_for_browser(&method, &headers) {
        Some(redirect) => redirect,
        None => unknown_url(method, uri).await.into_response(),
    }
}

async fn unknown_url(method: Method, uri: Uri) -> AppError {
    AppError::NotFound(format!(
        "unknown URL: {method} {}. Endpoints: {}",
        shorten(uri.path()),
        endpoint_list()
    ))
}

async fn wrong_method(method: Method, uri: Uri) -> AppError {
    AppError::MethodNotAllowed(format!(
        "{method} is not allowed on {}",
        shorten(uri.path())
    ))
}

/// Client-controlled text in an error message is kept short.
fn shorten(text: &str) -> String {
    text.chars().take(200).collect()
}
