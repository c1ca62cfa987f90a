//! The dashboard's view of the response cache: `GET /api/cache` (summary
//! and search), `GET /api/cache/{key}` (one entry, request beside
//! response), `DELETE /api/cache/{key}` and `POST /api/cache/check`. The
//! same rules as `llm-bridge cache`: a key or a unique prefix of at least
//! 8 hex digits, and a purge deletes only the store's own files.
//!
//! Reading the folder is blocking work and runs on the blocking pool; a
//! text search reads stored requests newest first and stops after
//! [`SEARCH_SCAN`] of them (the answer says when it stopped early).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::access::require_admin;
use super::cache_view::{entry_view, item};
use crate::cache::find::{self, FindError, names_model};
use crate::cache::store::Listed;
use crate::cache::{Cache, CacheKey, CacheStore};
use crate::caller::Caller;
use crate::error::AppError;
use crate::metrics::Metrics;

/// What the cache routes read.
#[derive(Clone)]
pub struct CacheAdmin {
    pub cache: Arc<Cache>,
    pub metrics: Arc<Metrics>,
}

/// Most stored requests a text search reads.
pub const SEARCH_SCAN: usize = 20_000;
/// Most entries one list answer carries.
const MAX_LIMIT: usize = 1000;

/// `GET /api/cache?model=&prefix=&q=&limit=`.
pub async fn list(
    State(admin): State<CacheAdmin>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let search = Search::from_params(&params)?;
    admin.cache.flush().await;
    let store = Arc::clone(&admin.cache.store);
    let (hits, misses) = admin.metrics.cache_answers();
    let found = blocking(move || search.run(store.as_ref())).await??;
    let lookups = hits + misses;
    Ok(Json(json!({
        "entries": found.entries,
        "bytes": found.bytes,
        "oldest": found.oldest,
        "newest": found.newest,
        "hits": hits,
        "misses": misses,
        "hit_rate": if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 },
        "matches": found.matches,
        "truncated": found.truncated,
        "items": found.items,
    })))
}

/// `GET /api/cache/{key}`.
pub async fn show(
    State(admin): State<CacheAdmin>,
    Path(text): Path<String>,
) -> Result<Json<Value>, AppError> {
    admin.cache.flush().await;
    let store = Arc::clone(&admin.cache.store);
    let view = blocking(move || {
        let key = existing_key(store.as_ref(), &text)?;
        let entry = store
            .get(&key)
            .map_err(|e| unreadable(&e))?
            .ok_or_else(|| absent(key.as_str()))?;
        let request = store.request_text(&key).ok().flatten();
        Ok::<_, AppError>(entry_view(&entry, request.as_deref()))
    })
    .await??;
    Ok(Json(view))
}

/// `DELETE /api/cache/{key}` (admin).
pub async fn delete(
    State(admin): State<CacheAdmin>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(text): Path<String>,
) -> Result<Json<Value>, AppError> {
    require_admin(&caller, "deleting a cache entry")?;
    // An answer still queued for the writer would otherwise come back.
    admin.cache.flush().await;
    let store = Arc::clone(&admin.cache.store);
    let deleted = blocking(move || {
        let key = existing_key(store.as_ref(), &text)?;
        match store.delete(&key) {
            Ok(true) => Ok(key),
            Ok(false) => Err(absent(key.as_str())),
            Err(error) => Err(unreadable(&error)),
        }
    })
    .await??;
    Ok(Json(json!({ "deleted": deleted.as_str() })))
}

/// `POST /api/cache/check?purge=` (purging needs admin).
pub async fn check(
    State(admin): State<CacheAdmin>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let purge = match params.get("purge").map(String::as_str) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(bad("purge", "purge is true or false")),
    };
    if purge {
        require_admin(&caller, "purging broken cache entries")?;
    }
    admin.cache.flush().await;
    let store = Arc::clone(&admin.cache.store);
    let answer = blocking(move || {
        let report = store.check(true).map_err(|e| unreadable(&e))?;
        let purged = if purge {
            store.purge(&report).map_err(|e| unreadable(&e))?
        } else {
            0
        };
        let broken: Vec<Value> = report
            .broken
            .iter()
            .map(|(key, problem)| json!({ "key": key, "problem": problem }))
            .collect();
        Ok::<_, AppError>(json!({
            "checked": report.ok + report.broken.len() as u64,
            "broken": broken,
            "leftovers": report.leftovers,
            "foreign": report.foreign,
            "purged": purged,
        }))
    })
    .await??;
    Ok(Json(answer))
}

/// What a list asks for.
struct Search {
    model: Option<String>,
    prefix: Option<String>,
    text: Option<String>,
    limit: usize,
}

/// What a list found.
struct Found {
    entries: u64,
    bytes: u64,
    oldest: Option<String>,
    newest: Option<String>,
    matches: usize,
    truncated: bool,
    items: Vec<Value>,
}

impl Search {
    fn from_params(params: &HashMap<String, String>) -> Result<Self, AppError> {
        let given = |name: &str| {
            params
                .get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let limit = match given("limit") {
            None => 50,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(bad("limit", "limit is a whole number from 1 to 1000")),
            },
        };
        let prefix = given("prefix").map(|p| p.to_ascii_lowercase());
        if prefix
            .as_deref()
            .is_some_and(|p| p.len() > 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(bad("prefix", "prefix is hex digits of a cache key"));
        }
        Ok(Self {
            model: given("model"),
            prefix,
            text: given("q").map(|q| q.to_lowercase()),
            limit,
        })
    }

    fn run(&self, store: &dyn CacheStore) -> Result<Found, AppError> {
        let mut listed = store.list().map_err(|e| unreadable(&e))?;
        listed.sort_by_key(|l| std::cmp::Reverse(l.meta.created_ms));
        let time = |l: Option<&Listed>| l.map(|l| l.meta.created.clone());
        let mut found = Found {
            entries: listed.len() as u64,
            bytes: listed.iter().map(|l| l.disk_bytes).sum(),
            newest: time(listed.first()),
            oldest: time(listed.last()),
            matches: 0,
            truncated: false,
            items: Vec::new(),
        };
        let mut scanned = 0;
        for entry in &listed {
            if !self.keeps(entry) {
                continue;
            }
            if let Some(text) = &self.text {
                if scanned == SEARCH_SCAN {
                    found.truncated = true;
                    break;
                }
                scanned += 1;
                if !request_mentions(store, entry, text) {
                    continue;
                }
            }
            found.matches += 1;
            if found.items.len() < self.limit {
                found.items.push(item(entry));
            }
        }
        Ok(found)
    }

    fn keeps(&self, entry: &Listed) -> bool {
        self.model
            .as_deref()
            .is_none_or(|m| names_model(&entry.meta, m))
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| entry.meta.key.starts_with(p))
    }
}

fn request_mentions(store: &dyn CacheStore, entry: &Listed, text: &str) -> bool {
    CacheKey::parse(&entry.meta.key)
        .and_then(|key| store.request_text(&key).ok().flatten())
        .is_some_and(|request| request.to_lowercase().contains(text))
}

/// The entry `text` names, which must exist.
fn existing_key(store: &dyn CacheStore, text: &str) -> Result<CacheKey, AppError> {
    match find::find(store, text) {
        Ok((_, Some(key))) => Ok(key),
        Ok((prefix, None)) => Err(absent(&prefix)),
        Err(FindError::NotAKey(message)) => Err(AppError::InvalidField {
            param: "key",
            message,
        }),
        Err(FindError::Ambiguous(message)) => Err(AppError::AmbiguousKey(message)),
        Err(FindError::Store(message)) => Err(AppError::Unavailable(message)),
    }
}

fn absent(key: &str) -> AppError {
    AppError::Missing(format!("no cache entry's key starts with {key}"))
}

fn bad(param: &'static str, message: &str) -> AppError {
    AppError::InvalidField {
        param,
        message: message.to_string(),
    }
}

fn unreadable(error: &impl std::fmt::Display) -> AppError {
    AppError::Unavailable(format!("the cache folder cannot be read: {error}"))
}

/// Runs folder work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| AppError::Unavailable("the cache read was interrupted".into()))
}
