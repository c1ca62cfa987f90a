//! Shared state, the router, and the server loop.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::auth::AccessKeys;
use crate::browser::OriginPolicy;
use crate::cache::{Cache, FileStore, StoreError};
use crate::config::Config;
use crate::observe::observe;
use crate::providers::Registry;
use crate::request_log::RequestLog;
use crate::routes;

/// Everything a handler may need. Cloned several times per request (once per
/// layer and extractor), so it is one `Arc` over [`Shared`]; nothing inside
/// is locked.
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
    pub config: Config,
    pub registry: Registry,
    pub access_keys: AccessKeys,
    pub request_log: RequestLog,
    /// `/v1/models` body, built once.
    pub models_json: Bytes,
    /// Which web pages may call.
    pub origins: OriginPolicy,
    /// The response cache.
    pub cache: Arc<Cache>,
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
        install_tls_provider();
        let registry = Registry::from_config(&config)?;
        let access_keys = AccessKeys::new(&config.access_keys);
        let models = serde_json::json!({
            "object": "list",
            "data": routes::model_objects(&registry, !access_keys.required()),
        });
        let origins = OriginPolicy::new(access_keys.required(), &config.cors_origins);
        let store = Arc::new(FileStore::open(&config.cache_dir)?);
        let cache = Arc::new(Cache::new(config.cache.clone(), store));
        Ok(Self(Arc::new(Shared {
            origins,
            cache,
            access_keys,
            config,
            registry,
            request_log,
            models_json: Bytes::from(models.to_string()),
        })))
    }
}

/// reqwest is built without a bundled crypto provider; ring is ours.
fn install_tls_provider() {
    // Err means one is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The whole application: routes plus the layers every request passes.
pub fn build_router(state: AppState) -> Router {
    routes::router(state.clone())
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(state.origins.cors_layer())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Small SSE chunks must leave at once, not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, build_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
