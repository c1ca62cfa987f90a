//! `GET /api/status`: what the dashboard's Status tab shows: the server,
//! each provider (kind, base URL without credentials, keys masked to their
//! last 4 characters, concurrency in use, error rate and latency over the
//! last [`RECENT`] from the usage database), access keys with their rate
//! limits, aliases, fallbacks, the last reload, the live feed, and the
//! effective configuration with every secret masked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::control::ControlHandle;
use super::health::{ReloadStatus, reloads};
use super::live::LiveFeed;
use super::stats::StatsState;
use crate::budgets::Budgets;
use crate::config::CacheMode;
use crate::config::live::Current;
use crate::limits::RateLimits;
use crate::stats::{StatsQuery, StatsRow, report};
use crate::upstream::Registry;

/// The window of the per-provider figures.
pub const RECENT: &str = "15m";

/// The part of the status a reload replaces.
#[derive(Debug)]
pub struct StatusView {
    pub registry: Arc<Registry>,
    pub limits: Arc<RateLimits>,
    pub budgets: Arc<Budgets>,
    /// Access key ids, each with whether it is an admin key.
    pub access_keys: Vec<(String, bool)>,
    /// The configuration as `Debug` prints it, secrets masked.
    pub effective: String,
}

/// What holds until a restart.
#[derive(Debug)]
pub struct StatusFacts {
    pub started_ms: u64,
    /// The address asked for; [`StatusFacts::bound`] once listening.
    pub listen: SocketAddr,
    pub bound: std::sync::OnceLock<SocketAddr>,
    pub cache_mode: CacheMode,
    pub cache_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    pub log_bodies: bool,
}

/// What `/api/status` reads.
#[derive(Clone)]
pub struct StatusState {
    pub view: Current<StatusView>,
    pub facts: Arc<StatusFacts>,
    pub stats: StatsState,
    pub feed: LiveFeed,
    pub reloads: watch::Receiver<ReloadStatus>,
    pub control: ControlHandle,
}

/// `GET /api/status`.
pub async fn status(State(state): State<StatusState>) -> Json<Value> {
    let view = state.view.now();
    let facts = &state.facts;
    let recent = recent_by_provider(&state.stats).await;
    let now = crate::cache::entry::now_ms();
    let mut reload = reloads(&state.reloads);
    let status = state.reloads.borrow().clone();
    reload["last_error"] = json!(status.last_error);
    reload["last_at"] = json!(status.last_ms.map(rfc3339));
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started": rfc3339(facts.started_ms),
        "uptime_secs": now.saturating_sub(facts.started_ms) / 1000,
        "listen": facts.bound.get().unwrap_or(&facts.listen).to_string(),
        "cache_mode": facts.cache_mode.name(),
        "cache_dir": facts.cache_dir,
        "data_dir": facts.data_dir,
        "log_dir": facts.log_dir,
        "config_file": facts.config_file,
        "env_file": state.control.env_file(),
        "access_keys_required": !view.access_keys.is_empty(),
        "log_bodies": facts.log_bodies,
        "providers": providers(&view.registry, &recent),
        "access_keys": access_keys(&view),
        "budgets": view.budgets.view(),
        "aliases": targets(view.registry.aliases().iter().map(|(k, t)| (k, vec![t]))),
        "fallbacks": targets(view.registry.fallbacks().iter().map(|(k, t)| (k, t.iter().collect()))),
        "reload": reload,
        "live": { "viewers": state.feed.viewers(), "dropped": state.feed.dropped() },
        "config": view.effective,
    }))
}

fn providers(registry: &Registry, recent: &[StatsRow]) -> Vec<Value> {
    registry
        .providers()
        .iter()
        .map(|p| {
            let row = recent.iter().find(|r| r.group.as_deref() == Some(p.name()));
            let mut summary = json!({
                "name": p.name(),
                "kind": p.kind().name(),
                "base_url": p.public_base_url(),
                "has_key": p.has_key(),
                "keys": p.masked_keys(),
                "models": p.models().len(),
                "max_concurrency": p.gate().map(|g| g.capacity()),
                "in_flight": p.gate().map_or(0, |g| g.in_use()),
                "queued": p.gate().map_or(0, |g| g.queued()),
                "recent": {
                    "window": RECENT,
                    "requests": row.map_or(0, |r| r.requests),
                    "errors": row.map_or(0, |r| r.errors),
                    "error_rate": row.map_or(0.0, error_rate),
                    "latency_p50_ms": row.and_then(|r| r.latency_p50_ms),
                },
            });
            if !p.listed() {
                summary["listed_in_models"] = false.into();
            }
            summary
        })
        .collect()
}

fn error_rate(row: &StatsRow) -> f64 {
    if row.requests == 0 {
        0.0
    } else {
        row.errors as f64 / row.requests as f64
    }
}

fn access_keys(view: &StatusView) -> Vec<Value> {
    view.access_keys
        .iter()
        .map(|(id, admin)| json!({ "name": id, "admin": admin, "limits": view.limits.view(id) }))
        .collect()
}

/// `{name: ["provider/model", …]}`.
fn targets<'a>(
    entries: impl Iterator<Item = (&'a String, Vec<&'a crate::config::ModelTarget>)>,
) -> Value {
    let mut map = Map::new();
    for (name, list) in entries {
        let labels: Vec<String> = list
            .iter()
            .map(|t| format!("{}/{}", t.provider, t.model))
            .collect();
        map.insert(name.clone(), json!(labels));
    }
    Value::Object(map)
}

/// The last [`RECENT`] by provider; empty without a usage database.
async fn recent_by_provider(stats: &StatsState) -> Vec<StatsRow> {
    if stats.store.is_none() {
        return Vec::new();
    }
    let Ok(query) = StatsQuery::from_params(Some(RECENT), None, Some("provider")) else {
        return Vec::new();
    };
    let source = stats.source.clone();
    tokio::task::spawn_blocking(move || report(&source, &query).map(|r| r.rows))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

fn rfc3339(ms: u64) -> String {
    crate::cache::entry::rfc3339(ms, chrono::SecondsFormat::Secs)
}
