//! `GET /health`: liveness plus a summary of the configuration that helps
//! a user see why a model does not route. No auth; never shows a secret.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let live = state.live();
    let providers: Vec<Value> = live
        .registry
        .providers()
        .iter()
        .map(|p| {
            let mut summary = json!({
                "name": p.name(),
                "base_url": p.public_base_url(),
                "has_key": p.has_key(),
                "listed_in_models": p.listed(),
                "models": p.models().len(),
            });
            // With a concurrency cap: how full it is, to see a queue build.
            if let Some(gate) = p.gate() {
                summary["in_flight"] = gate.in_use().into();
                summary["queued"] = gate.queued().into();
            }
            summary
        })
        .collect();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "access_keys_required": live.access_keys.required(),
        "cache_mode": state.cache.settings.mode.name(),
        "default_provider": live.config.default_provider,
        "aliases": live.registry.aliases().len(),
        "reloads": reloads(&state),
        "providers": providers,
    }))
}

/// Reload counts, so a user (or a script) can see a `.env` change was
/// taken, or refused.
fn reloads(state: &AppState) -> Value {
    let status = *state.reloads().borrow();
    json!({
        "done": status.reloads - status.failed,
        "failed": status.failed,
        "last_failed": status.last_failed,
    })
}
