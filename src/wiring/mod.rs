//! The composition root: the one module that knows every other. It builds
//! the state from the configuration ([`state`]), swaps the reloadable part
//! on a change ([`live`], [`reload`]), lays out the routes and layers
//! ([`router`]), sends finished requests to the log, the usage store and
//! the metrics ([`sink`]), and serves until shutdown ([`server`]). Every
//! other module takes only the narrow handle it needs.

pub mod live;
mod live_event;
mod memory;
pub mod reload;
pub mod router;
pub mod run;
pub mod server;
mod shared;
mod sink;
mod state;
pub mod telemetry;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use state::{AppState, StateError};

/// The whole application: routes plus the layers every request passes.
pub fn build_router(state: AppState) -> Router {
    router::build(state)
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight
/// requests and background work finish, within `[server]`'s grace period
/// (see [`server`]), and writes out the usage store.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.config().server.clone();
    if let Ok(addr) = listener.local_addr() {
        state.note_listening(addr);
    }
    let stopping = state.stopping();
    let closing = state.clone();
    server::run(listener, build_router(state), &settings, stopping, shutdown).await;
    closing.flush_cache().await;
    closing.close_usage_store().await;
    Ok(())
}
