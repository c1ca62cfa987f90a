//! `GET /health`: liveness plus a summary of the configuration that helps
//! a user see why a model does not route. No auth; never shows a secret.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let providers: Vec<Value> = state
        .registry
        .providers()
        .iter()
        .map(|p| {
            json!({
                "name": p.name(),
                "base_url": p.public_base_url(),
                "has_key": p.has_key(),
                "listed_in_models": p.listed(),
                "models": p.models().len(),
            })
        })
        .collect();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "access_keys_required": state.access_keys.required(),
        "cache_mode": state.cache.settings.mode.name(),
        "default_provider": state.config.default_provider,
        "aliases": state.registry.aliases().len(),
        "providers": providers,
    }))
}
