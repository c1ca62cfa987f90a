//! `GET /health`: liveness plus a summary of the configuration that helps
//! a user see why a model does not route. No auth; never shows a secret.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::budgets::Budgets;
use crate::cache::tiered::SharedHealth;
use crate::config::CacheMode;
use crate::config::live::Current;
use crate::upstream::Registry;

/// What `/health` shows of the current configuration.
#[derive(Debug)]
pub struct HealthView {
    pub registry: Arc<Registry>,
    /// Spend against the budgets, when there are any.
    pub budgets: Arc<Budgets>,
    pub access_keys_required: bool,
    pub default_provider: Option<String>,
}

/// How many reloads happened and whether the last one was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    pub reloads: u64,
    pub failed: u64,
    pub last_failed: bool,
    /// Why the last reload was refused, when it was.
    pub last_error: Option<String>,
    /// When the last reload ran, Unix ms.
    pub last_ms: Option<u64>,
}

/// What `/health` reads.
#[derive(Clone)]
pub struct HealthState {
    pub view: Current<HealthView>,
    pub cache_mode: CacheMode,
    pub reloads: watch::Receiver<ReloadStatus>,
    /// Whether Redis answers, when the cache is shared through it.
    pub shared_cache: Option<Arc<SharedHealth>>,
}

/// `GET /health`.
pub async fn health(State(state): State<HealthState>) -> Json<Value> {
    let live = state.view.now();
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
        "access_keys_required": live.access_keys_required,
        "cache_mode": state.cache_mode.name(),
        "default_provider": live.default_provider,
        "aliases": live.registry.aliases().len(),
        "reloads": reloads(&state.reloads),
        "providers": providers,
        "budgets": live.budgets.view(),
        "shared_cache": state.shared_cache.as_ref().map(|health| health.view()),
    }))
}

/// Reload counts, so a user (or a script) can see a `.env` change was
/// taken, or refused.
pub fn reloads(reloads: &watch::Receiver<ReloadStatus>) -> Value {
    let status = reloads.borrow().clone();
    json!({
        "done": status.reloads - status.failed,
        "failed": status.failed,
        "last_failed": status.last_failed,
    })
}
