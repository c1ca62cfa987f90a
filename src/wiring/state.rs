//! The gateway's state, built once from the configuration, and the narrow
//! handles each handler, layer and task takes of it (axum's `FromRef`):
//! nothing outside the wiring ever holds the whole of it.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::FromRef;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::live::{LiveConfig, LiveConfigCell};
use super::server::Stopping;
use super::sink::RequestSink;
use crate::admin::access::SessionFacts;
use crate::admin::cache::CacheAdmin;
use crate::admin::control::ControlHandle;
use crate::admin::health::{HealthState, ReloadStatus};
use crate::admin::live::LiveFeed;
use crate::admin::metrics::MetricsState;
use crate::admin::stats::StatsState;
use crate::admin::status::{StatusFacts, StatusState};
use crate::api::models::ModelList;
use crate::budgets::Budgets;
use crate::cache::tiered::SharedHealth;
use crate::cache::{Cache, StoreError, open_store};
use crate::config::Config;
use crate::config::live::Current;
use crate::edge::EdgeState;
use crate::edge::auth::AccessKeys;
use crate::edge::body::{BodyBudget, BodyLimits};
use crate::limits::{LimitClock, RateLimits};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::pipeline::flight::Flights;
use crate::request_log::RequestLog;
use crate::stats::{StoreGuard, UsageStore};

/// Everything the gateway shares; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// An [`AppState`] that does not keep it alive.
pub struct WeakState(std::sync::Weak<Shared>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

/// What [`AppState`] shares.
struct Shared {
    /// The configuration the server started with. Its listen address,
    /// folders, cache, log and `[server]` settings hold until a restart;
    /// everything else is read from [`Shared::live`].
    config: Config,
    live: LiveConfigCell,
    reloads: watch::Sender<ReloadStatus>,
    /// Writes out queued usage records when taken and dropped.
    usage_guard: Mutex<Option<StoreGuard>>,
    stopping: Stopping,
    /// Usage records still being built (estimates on the blocking pool);
    /// the usage store is closed only after them.
    accounting: TaskTracker,
    // The handles, built once and cloned per request.
    edge: EdgeState,
    access_keys: Current<AccessKeys>,
    body_limits: BodyLimits,
    pipeline: Pipeline,
    models: Current<ModelList>,
    metrics_state: MetricsState,
    stats_state: StatsState,
    // The dashboard's.
    feed: LiveFeed,
    control: ControlHandle,
    cache_admin: CacheAdmin,
    status_facts: Arc<StatusFacts>,
    /// Whether Redis answers, when the cache is shared through it.
    shared_cache: Option<Arc<SharedHealth>>,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot open the cache: {0}")]
    Cache(#[from] StoreError),
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
        let (usage_store, usage_guard) = open_usage_store(&config);
        let mut budgets = Budgets::new(config.budgets.clone());
        seed_budgets(&budgets, &config);
        let (store, shared_cache) = open_store(
            &config.cache_dir,
            config.cache.max_total_bytes,
            config.redis.as_ref(),
            config.cache.ttl,
        )?;
        let shared = super::shared::open(&config, shared_cache.as_ref())?;
        if let Some(spend) = shared.spend {
            budgets = budgets.with_shared(spend);
        }
        let live = LiveConfigCell::new(LiveConfig::build(
            config.clone(),
            Arc::new(limits),
            Arc::new(budgets),
            shared.rpm,
        )?);
        let cache = Arc::new(Cache::new(config.cache.clone(), store));
        let metrics = Arc::new(Metrics::new());
        let stopping = Stopping::default();
        let accounting = TaskTracker::new();
        let feed = LiveFeed::new(stopping.draining.clone());
        let pipeline = Pipeline {
            routing: live.piece(|live| &live.routing),
            cache: Arc::clone(&cache),
            flights: Arc::new(Flights::default()),
            metrics: Arc::clone(&metrics),
            background: stopping.background.clone(),
            log_bodies: request_log.log_bodies(),
            shared_flights: shared.flights,
        };
        let request_log_handle = request_log.clone();
        let sink = RequestSink {
            request_log,
            metrics: Arc::clone(&metrics),
            usage_store: usage_store.clone(),
            prices: live.piece(|live| &live.prices),
            accounting: accounting.clone(),
            feed: feed.clone(),
        };
        let status_facts = Arc::new(StatusFacts {
            started_ms: crate::cache::entry::now_ms(),
            listen: config.listen,
            bound: std::sync::OnceLock::new(),
            cache_mode: config.cache.mode,
            cache_dir: config.cache_dir.clone(),
            data_dir: config.data_dir.clone(),
            log_dir: config.log.dir.clone(),
            config_file: config.config_file.clone(),
            log_bodies: config.log.log_bodies,
        });
        let cache_admin = CacheAdmin {
            cache: Arc::clone(&cache),
            metrics: Arc::clone(&metrics),
        };
        Ok(Self(Arc::new(Shared {
            edge: edge_state(&config, &live, &stopping, sink),
            access_keys: live.piece(|live| &live.access_keys),
            models: live.piece(|live| &live.models),
            body_limits: BodyLimits {
                max_bytes: config.max_body_bytes,
                read_timeout: config.server.body_read_timeout,
                in_flight: BodyBudget::new(config.server.bodies_in_flight_bytes),
            },
            metrics_state: MetricsState {
                metrics,
                cache,
                usage_store: usage_store.clone(),
                budgets: live.piece(|live| &live.routing.budgets),
                shared_cache: shared_cache.clone(),
            },
            stats_state: StatsState {
                store: usage_store,
                source: crate::stats::query::Source::new(
                    &config.data_dir,
                    config.stats.url.as_ref().map(|url| url.expose()),
                ),
                request_log: request_log_handle,
            },
            usage_guard: Mutex::new(usage_guard),
            feed,
            control: ControlHandle::default(),
            cache_admin,
            status_facts,
            shared_cache,
            pipeline,
            live,
            reloads: watch::Sender::new(ReloadStatus::default()),
            stopping,
            accounting,
            config,
        })))
    }

    /// The configuration the server started with.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The gateway's metrics (for the memory trimmer's view of the load).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.0.metrics_state.metrics)
    }

    /// The cache's store (for the start-up scan).
    pub fn cache_store(&self) -> Arc<dyn crate::cache::CacheStore> {
        Arc::clone(&self.0.pipeline.cache.store)
    }

    /// The current configuration and what is built from it.
    pub fn live(&self) -> Arc<LiveConfig> {
        self.0.live.now()
    }

    /// Replaces the live configuration with `config`. Requests in flight
    /// keep the one they started with. Rate-limit state carries over for
    /// keys whose limits did not change, and spend for every key.
    pub fn replace_config(&self, config: Config) -> Result<(), StateError> {
        let current = self.live();
        let limits = current
            .routing
            .limits
            .reconfigure(config.limits.default, config.limits.per_key.clone());
        let before = &current.routing.budgets;
        let budgets = before.reconfigure(config.budgets.clone());
        // With no budget before, nothing was counted: start from the database.
        if before.is_empty() {
            seed_budgets(&budgets, &config);
        }
        let shared_rpm = current.routing.shared_rpm.clone();
        let next = LiveConfig::build(config, Arc::new(limits), Arc::new(budgets), shared_rpm)?;
        self.0.live.replace(next);
        Ok(())
    }

    /// A handle that does not keep the state alive.
    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    /// Notes the address the server listens on, for the dashboard.
    pub fn note_listening(&self, addr: std::net::SocketAddr) {
        let _ = self.0.status_facts.bound.set(addr);
    }

    /// Where the dashboard's configuration changes go, once the server
    /// runs with a configuration source.
    pub fn control(&self) -> ControlHandle {
        self.0.control.clone()
    }

    /// Records the outcome of a reload for `/health`.
    pub fn note_reload(&self, outcome: &Result<(), String>) {
        self.0.reloads.send_modify(|status| {
            status.reloads += 1;
            status.failed += u64::from(outcome.is_err());
            status.last_failed = outcome.is_err();
            status.last_error = outcome.as_ref().err().cloned();
            status.last_ms = Some(crate::cache::entry::now_ms());
        });
    }

    /// Reload outcomes as they happen.
    pub fn reloads(&self) -> watch::Receiver<ReloadStatus> {
        self.0.reloads.subscribe()
    }

    /// The shutdown's tasks and signal.
    pub(super) fn stopping(&self) -> Stopping {
        self.0.stopping.clone()
    }

    /// Returns once the cache entries saved so far are on disk.
    pub async fn flush_cache(&self) {
        self.0.pipeline.cache.flush().await;
    }

    /// Writes out the queued usage records, after the records still being
    /// built, and stops the store's writer (waiting a few seconds at most);
    /// records after this are dropped. Called once the server has stopped.
    pub async fn close_usage_store(&self) {
        self.0.accounting.close();
        if tokio::time::timeout(ACCOUNTING_PATIENCE, self.0.accounting.wait())
            .await
            .is_err()
        {
            tracing::warn!("usage records still being estimated at shutdown are dropped");
        }
        let guard = self
            .0
            .usage_guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(guard) = guard {
            let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
        }
    }
}

/// Longest wait at shutdown for usage records still being built: an
/// estimate takes milliseconds, even for a long prompt.
const ACCOUNTING_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// The outermost layer's handle.
fn edge_state(
    config: &Config,
    live: &LiveConfigCell,
    stopping: &Stopping,
    sink: RequestSink,
) -> EdgeState {
    EdgeState {
        guards: live.piece(|live| &live.guards),
        max_header_bytes: config.server.max_header_bytes,
        sink: Arc::new(sink),
        streams_cut: stopping.streams_cut.clone(),
    }
}

/// The usage store, or none when it cannot be opened (the gateway then
/// runs without statistics).
fn open_usage_store(config: &Config) -> (Option<UsageStore>, Option<StoreGuard>) {
    let url = config.stats.url.as_ref().map(|url| url.expose());
    let instance = &config.stats.instance;
    match UsageStore::open_ledger(&config.data_dir, url, instance, config.stats.retention) {
        Ok((store, guard)) => (Some(store), Some(guard)),
        Err(error) => {
            tracing::warn!("running without usage statistics: {error}");
            (None, None)
        }
    }
}

/// Starts the budgets' ledger from what the usage database says was spent
/// today and this month (nothing to do without a budget). A database that
/// cannot be read leaves the ledger at 0, and says so.
fn seed_budgets(budgets: &Budgets, config: &Config) {
    if budgets.is_empty() {
        return;
    }
    let now = crate::budgets::now_ms();
    let (day_start, month_start) = crate::budgets::period_starts(now);
    let source = crate::stats::query::Source::new(
        &config.data_dir,
        config.stats.url.as_ref().map(|url| url.expose()),
    );
    match crate::stats::spend::spend_since(&source, day_start, month_start) {
        Ok(spent) => budgets.seed(&spent),
        Err(error) => tracing::warn!("budgets start from $0: {error}"),
    }
}

/// reqwest is built without a bundled crypto provider; ring is ours.
fn install_tls_provider() {
    // Err means one is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

macro_rules! narrow_handles {
    ($($handle:ty => |$shared:ident| $value:expr;)*) => {
        $(impl FromRef<AppState> for $handle {
            fn from_ref(state: &AppState) -> Self {
                let $shared = &state.0;
                $value
            }
        })*
    };
}

narrow_handles! {
    EdgeState => |shared| shared.edge.clone();
    Current<AccessKeys> => |shared| shared.access_keys.clone();
    BodyLimits => |shared| shared.body_limits.clone();
    Pipeline => |shared| shared.pipeline.clone();
    Current<ModelList> => |shared| shared.models.clone();
    MetricsState => |shared| shared.metrics_state.clone();
    StatsState => |shared| shared.stats_state.clone();
    LiveFeed => |shared| shared.feed.clone();
    ControlHandle => |shared| shared.control.clone();
    CacheAdmin => |shared| shared.cache_admin.clone();
    SessionFacts => |shared| SessionFacts { log_bodies: shared.config.log.log_bodies };
    StatusState => |shared| StatusState {
        view: shared.live.piece(|live| &live.status),
        facts: Arc::clone(&shared.status_facts),
        stats: shared.stats_state.clone(),
        feed: shared.feed.clone(),
        reloads: shared.reloads.subscribe(),
        control: shared.control.clone(),
    };
    HealthState => |shared| HealthState {
        view: shared.live.piece(|live| &live.health),
        cache_mode: shared.config.cache.mode,
        reloads: shared.reloads.subscribe(),
        shared_cache: shared.shared_cache.clone(),
    };
}
