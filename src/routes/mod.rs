//! The route table. Every API route is served both with and without the
//! `/v1` prefix, because clients differ on whether they append it.

mod body;
mod chat;
mod health;
mod metrics;
mod models;
mod stats;

pub use models::model_objects;

use axum::Router;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::auth::require_access_key;
use crate::error::AppError;

/// Every endpoint, as `--help` and the unknown-URL error list them (the
/// `/v1` ones are also served without `/v1`). One list, so the help and the
/// error cannot drift apart; a test requests each one to check the router
/// has it.
pub const ENDPOINTS: &[&str] = &[
    "POST /v1/chat/completions",
    "GET /v1/models",
    "GET /v1/models/{id}",
    "GET /health",
    "GET /metrics",
    "GET /api/stats",
];

/// [`ENDPOINTS`] as one line: `POST /v1/chat/completions, GET /v1/models, …`.
pub fn endpoint_list() -> String {
    ENDPOINTS.join(", ")
}

/// All routes, with access-key checks on the API routes and `/metrics`
/// (which shows model names and spend), not on `/health`.
pub fn router(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/chat/completions", post(chat::chat_completions))
        .route("/v1/models", get(models::list_models))
        .route("/models", get(models::list_models))
        .route("/v1/models/{*id}", get(models::retrieve_model))
        .route("/models/{*id}", get(models::retrieve_model))
        .route("/metrics", get(metrics::metrics))
        .route("/api/stats", get(stats::stats))
        .route_layer(middleware::from_fn_with_state(state, require_access_key));
    Router::new()
        .merge(api)
        .route("/health", get(health::health))
        .fallback(unknown_url)
        .method_not_allowed_fallback(wrong_method)
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
