//! Shared state, the router, and the server loop.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::auth::AccessKeys;
use crate::browser::{HostPolicy, OriginPolicy};
use crate::cache::{Cache, FileStore, StoreError};
use crate::config::Config;
use crate::limits::{LimitClock, RateLimits};
use crate::metrics::Metrics;
use crate::observe::observe;
use crate::providers::Registry;
use crate::request_log::RequestLog;
use crate::routes;
use crate::server;
use crate::stats::{StoreGuard, UsageStore};

/// Everything a handler may need. Cloned several times per request (once per
/// layer and extractor), so it is one `Arc` over [`Shared`].
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the server started with. Its listen address,
    /// folders, cache, log and `[server]` settings and `max_body_bytes` hold
    /// until a restart; everything else is read from [`Shared::live`].
    pub config: Config,
    live: RwLock<Arc<Live>>,
    reloads: watch::Sender<ReloadStatus>,
    pub request_log: RequestLog,
    /// The response cache.
    pub cache: Arc<Cache>,
    /// This instance's Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Where usage records go; `None` when the database could not be
    /// opened (the gateway then runs without statistics).
    usage_store: Option<UsageStore>,
    /// Writes out queued usage records when taken and dropped.
    usage_guard: Mutex<Option<StoreGuard>>,
    /// Work that may outlive its request (a flight's leader storing an
    /// answer for a client that left), and the signal that ends the answers
    /// still running when a shutdown's grace period is over.
    stopping: server::Stopping,
    /// Usage records still being built (estimates on the blocking pool);
    /// the usage store is closed only after them.
    accounting: TaskTracker,
}

/// What a configuration reload replaces: providers and their keys, access
/// keys, aliases, fallbacks, limits, allowed origins. A request takes one
/// snapshot and keeps it to its end, so a reload never changes a request in
/// flight.
#[derive(Debug)]
pub struct Live {
    pub config: Config,
    pub registry: Registry,
    pub access_keys: AccessKeys,
    /// `/v1/models` body, built once per configuration.
    pub models_json: Bytes,
    /// Which web pages may call.
    pub origins: OriginPolicy,
    /// Which `Host` names are answered.
    pub hosts: HostPolicy,
    pub limits: Arc<RateLimits>,
    /// Masks every configured provider key in upstream answers.
    pub redactor: crate::redact::Redactor,
}

/// How many reloads happened and whether the last one was refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    pub reloads: u64,
    pub failed: u64,
    pub last_failed: bool,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot open the cache: {0}")]
    Cache(#[from] StoreError),
}

impl Live {
    fn build(config: Config, limits: Arc<RateLimits>) -> Result<Self, StateError> {
        let registry = Registry::from_config(&config)?;
        let access_keys = AccessKeys::new(&config.access_keys);
        let models = serde_json::json!({
            "object": "list",
            "data": routes::model_objects(&registry, !access_keys.required()),
        });
        let origins = OriginPolicy::new(access_keys.required(), &config.cors_origins);
        let hosts = HostPolicy::new(access_keys.required(), &config.allowed_hosts);
        let redactor = crate::redact::Redactor::new(
            config
                .providers
                .iter()
                .flat_map(|p| p.api_keys.iter().map(|k| k.expose())),
        );
        Ok(Self {
            hosts,
            redactor,
            registry,
            access_keys,
            models_json: Bytes::from(models.to_string()),
            origins,
            limits,
            config,
        })
    }
}

impl AppState {
    /// Builds providers (one HTTP client each) and the derived data.
    pub fn new(config: Config, request_log: RequestLog) -> Result<Self, StateError> {
        Self::with_limit_clock(config, request_log, LimitClock::system())
    }

    /// [`AppState::new`] with the clock rate limits run on (tests move it).
    pub fn with_limit_clock(
        config: Config,
        request_log: RequestLog,
        clock: LimitClock,
    ) -> Result<Self, StateError> {
        install_tls_provider();
        let limits = RateLimits::new(config.limits.default, config.limits.per_key.clone(), clock);
        let live = Live::build(config.clone(), Arc::new(limits))?;
        let (usage_store, usage_guard) =
            match UsageStore::open(&config.data_dir, config.stats.retention) {
                Ok((store, guard)) => (Some(store), Some(guard)),
                Err(error) => {
                    tracing::warn!("running without usage statistics: {error}");
                    (None, None)
                }
            };
        let store = Arc::new(FileStore::open(&config.cache_dir)?);
        let cache = Arc::new(Cache::new(config.cache.clone(), store));
        Ok(Self(Arc::new(Shared {
            config,
            live: RwLock::new(Arc::new(live)),
            reloads: watch::Sender::new(ReloadStatus::default()),
            cache,
            metrics: Arc::new(Metrics::new()),
            usage_store,
            usage_guard: Mutex::new(usage_guard),
            request_log,
            stopping: server::Stopping::default(),
            accounting: TaskTracker::new(),
        })))
    }

    /// The usage store, when it could be opened.
    pub fn usage_store(&self) -> Option<&UsageStore> {
        self.usage_store.as_ref()
    }

    /// Writes out the queued usage records and stops the store's writer
    /// (waiting a few seconds at most); records after this are dropped.
    /// Called once the server has stopped.
    pub async fn close_usage_store(&self) {
        let guard = self
            .usage_guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(guard) = guard {
            let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
        }
    }

    /// The current configuration and what is built from it.
    pub fn live(&self) -> Arc<Live> {
        let live = self.live.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&live)
    }

    /// Replaces the live configuration with `config`. Requests in flight
    /// keep the one they started with. Rate-limit state carries over for
    /// keys whose limits did not change.
    pub fn replace_config(&self, config: Config) -> Result<(), StateError> {
        let current = self.live();
        let limits = current
            .limits
            .reconfigure(config.limits.default, config.limits.per_key.clone());
        let next = Live::build(config, Arc::new(limits))?;
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    /// Records the outcome of a reload for [`AppState::reloads`].
    pub fn note_reload(&self, ok: bool) {
        self.reloads.send_modify(|status| {
            status.reloads += 1;
            status.failed += u64::from(!ok);
            status.last_failed = !ok;
        });
    }

    /// Reload outcomes as they happen.
    pub fn reloads(&self) -> watch::Receiver<ReloadStatus> {
        self.reloads.subscribe()
    }
}

impl Shared {
    /// Where to spawn work that must finish before the server stops.
    pub fn background(&self) -> &TaskTracker {
        &self.stopping.background
    }

    /// Where usage records being built are tracked.
    pub fn accounting(&self) -> &TaskTracker {
        &self.accounting
    }

    /// Cancelled when a shutdown's grace period is over: answers still
    /// running end then.
    pub fn streams_cut(&self) -> &tokio_util::sync::CancellationToken {
        &self.stopping.streams_cut
    }
}

/// Longest wait at shutdown for usage records still being built: an
/// estimate takes milliseconds, even for a long prompt.
const ACCOUNTING_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// reqwest is built without a bundled crypto provider; ring is ours.
fn install_tls_provider() {
    // Err means one is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The whole application: routes plus the layers every request passes.
pub fn build_router(state: AppState) -> Router {
    routes::router(state.clone())
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(crate::browser::cors_layer({
            let state = state.clone();
            move |origin| state.live().origins.allows(origin)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight
/// requests and background work finish, within `[server]`'s grace period
/// (see [`server`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.config.server.clone();
    let stopping = state.stopping.clone();
    let closing = state.clone();
    server::run(listener, build_router(state), &settings, stopping, shutdown).await;
    // Requests are done; once the records still being built are too, write
    // out the usage store.
    closing.accounting.close();
    if tokio::time::timeout(ACCOUNTING_PATIENCE, closing.accounting.wait())
        .await
        .is_err()
    {
        tracing::warn!("usage records still being estimated at shutdown are dropped");
    }
    closing.close_usage_store().await;
    Ok(())
}
