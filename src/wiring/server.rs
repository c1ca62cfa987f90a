//! The accept loop: TCP connections in, HTTP/1 or HTTP/2 served by the
//! router, within bounds; and the drain when the server stops.
//!
//! Bounds, so that slow or hostile clients cannot pile up:
//! - at most `max_connections` open connections. At the cap the loop stops
//!   accepting until one closes; further clients wait in the kernel's
//!   backlog rather than holding sockets nobody serves.
//! - `header_read_timeout`: an HTTP/1 request head must be complete within
//!   it, and an idle keep-alive connection closes after it (hyper restarts
//!   the same timer when it waits for the next request). hyper-util's
//!   protocol sniffing and HTTP/2 have no such timer, so a connection must
//!   also have delivered its first request by then, whatever its protocol.
//! - `max_header_bytes`: HTTP/1 request heads and HTTP/2 header lists. hyper
//!   reads heads up to twice the limit, so that the edge can answer a head
//!   over the limit with an OpenAI-shaped 431 ([`crate::edge::guard`]);
//!   past twice the limit hyper answers a bare 431 itself and closes.
//!
//! Bodies are bounded by the router (`max_body_bytes`), not here.
//!
//! Stopping: the listener is dropped (new clients are refused), every
//! connection is asked to finish (idle ones close at once, HTTP/1 ones after
//! the response in flight, HTTP/2 ones get GOAWAY), and the loop waits for
//! them and for background work (cache writes for clients that left) up to
//! `shutdown_grace`. Then the answers still running are told to end
//! (`streams_cut`: a stream gets a final error event, a request still
//! waiting for its provider a 503, and each is logged and recorded with
//! outcome `shutdown`), given [`CUT_FLUSH`] to reach their clients, and
//! whatever is left is cut, and counted in a warning.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::caller::PeerAddr;
use crate::config::ServerConfig;

/// First pause after an accept error that is not about one connection (out
/// of file descriptors or memory): retrying at once would spin on the same
/// error.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// Longest pause between retries, so clients in the backlog are served
/// within a second of descriptors coming free.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How long answers told to end at the close of the grace period have to
/// send their last event and end before their connections are closed: a
/// few writes on the loopback or a LAN take milliseconds.
pub const CUT_FLUSH: Duration = Duration::from_secs(1);
/// hyper asserts an HTTP/1 read buffer of at least this (the config already
/// refuses less; this guards settings built in code).
const MIN_READ_BUFFER: usize = 8 * 1024;

/// What a shutdown ends, besides the listener: the work it waits for, and
/// the signal that tells the answers still running to end.
#[derive(Debug, Clone, Default)]
pub struct Stopping {
    /// Work that may outlive its request; waited for within the grace.
    pub background: TaskTracker,
    /// Cancelled when the grace period is over.
    pub streams_cut: CancellationToken,
    /// Cancelled when the server stops accepting: feeds that never end by
    /// themselves (the dashboard's live feed) end then.
    pub draining: CancellationToken,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn run(
    listener: TcpListener,
    router: Router,
    settings: &ServerConfig,
    stopping: Stopping,
    shutdown: impl Future<Output = ()>,
) {
    warn_if_above_open_file_limit(settings.max_connections);
    let http = Arc::new(http_builder(settings));
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let connections = TaskTracker::new();
    let stop = Stop::default();
    let mut shutdown = pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        match accepted {
            Ok((stream, peer, permit)) => {
                backoff = FIRST_BACKOFF;
                connections.spawn(connection(
                    stream,
                    PeerAddr(peer),
                    permit,
                    Arc::clone(&http),
                    router.clone(),
                    settings.header_read_timeout,
                    stop.clone(),
                ));
            }
            Err(error) if concerns_one_connection(&error) => {
                tracing::debug!("a connection failed before it was accepted: {error}");
            }
            Err(error) => {
                tracing::warn!("cannot accept connections: {error}; retrying in {backoff:?}");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    drop(listener);
    drain(&connections, &stopping, &stop, settings.shutdown_grace).await;
}

/// Waits for room under the cap, then for a client.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> io::Result<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this only waits.
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .map_err(io::Error::other)?;
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, permit))
}

/// Errors about a client that gave up during the handshake; the listener
/// itself is fine.
fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// HTTP/1 and HTTP/2 (told apart by hyper-util from the first bytes).
fn http_builder(settings: &ServerConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // The timer is what makes hyper's header timeout run at all: without one
    // it logs a warning and waits forever.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(
            settings
                .max_header_bytes
                .saturating_mul(2)
                .max(MIN_READ_BUFFER),
        );
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(settings.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// The two steps of stopping, seen by every connection.
#[derive(Clone, Default)]
struct Stop {
    /// Finish what is in flight, take nothing new.
    drain: CancellationToken,
    /// Close now.
    cut: CancellationToken,
}

/// Serves one connection until it ends, cannot produce its first request in
/// time, or is cut. Holds its place under the cap until then.
async fn connection(
    stream: TcpStream,
    peer: PeerAddr,
    _permit: OwnedSemaphorePermit,
    http: Arc<Builder<TokioExecutor>>,
    router: Router,
    first_request_within: Duration,
    stop: Stop,
) {
    // Small SSE chunks must leave at once, not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let requested = Arc::new(AtomicBool::new(false));
    let service = {
        let requested = Arc::clone(&requested);
        let router = TowerToHyperService::new(router);
        service_fn(move |mut request: Request<Incoming>| {
            requested.store(true, Ordering::Relaxed);
            // Who is on the other end, for the checks that answer only
            // this machine (the dashboard in open mode).
            request.extensions_mut().insert(peer);
            router.call(request)
        })
    };
    let mut conn = pin!(http.serve_connection(TokioIo::new(stream), service));
    let mut first_request = pin!(tokio::time::sleep(first_request_within));
    let (mut waiting, mut draining) = (true, false);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection ended: {error}");
                }
                return;
            }
            // The flag is set and read on this task (hyper calls the
            // service while this future polls the connection).
            () = &mut first_request, if waiting => {
                if !requested.load(Ordering::Relaxed) {
                    tracing::debug!("no request within {first_request_within:?}: closing");
                    return;
                }
                waiting = false;
            }
            () = stop.drain.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = stop.cut.cancelled() => return,
        }
    }
}

/// Lets connections and background work finish within `grace`, then cuts
/// the connections that are left.
async fn drain(connections: &TaskTracker, stopping: &Stopping, stop: &Stop, grace: Duration) {
    let background = &stopping.background;
    connections.close();
    background.close();
    tracing::info!(
        "stopped accepting; waiting up to {}s for {} open connections and {} background tasks",
        grace.as_secs(),
        connections.len(),
        background.len(),
    );
    stop.drain.cancel();
    stopping.draining.cancel();
    let finished = tokio::time::timeout(grace, async {
        connections.wait().await;
        background.wait().await;
    })
    .await;
    if finished.is_ok() {
        tracing::info!("every request finished; stopped");
        return;
    }
    tracing::warn!(
        "shutdown grace period of {}s is over: ending the answers on {} connections still \
         open; {} background tasks (cache writes) are abandoned",
        grace.as_secs(),
        connections.len(),
        background.len(),
    );
    stopping.streams_cut.cancel();
    if tokio::time::timeout(CUT_FLUSH, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("cutting {} connections", connections.len());
    }
    stop.cut.cancel();
    // Every connection task watches the cut, so this is prompt.
    connections.wait().await;
}

/// Warns when the cap cannot be reached because the process may not open
/// that many files. Reads `/proc`, so Linux only; silent elsewhere.
fn warn_if_above_open_file_limit(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let Some(soft) = open_file_soft_limit(&limits) else {
        return;
    };
    if u64::try_from(max_connections).is_ok_and(|max| max > soft) {
        tracing::warn!(
            "server.max_connections is {max_connections}, but this process may open only {soft} \
             files (ulimit -n): past about {soft} connections, accepting fails with \"too many \
             open files\", and each proxied request also holds an upstream connection. Raise the \
             limit (ulimit -n, or LimitNOFILE= for systemd) or lower server.max_connections"
        );
    }
}

/// The soft limit from `/proc/self/limits`; `None` when unlimited or
/// unreadable.
fn open_file_soft_limit(limits: &str) -> Option<u64> {
    let rest = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63704                63704                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(open_file_soft_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_file_soft_limit(unlimited), None);
        assert_eq!(open_file_soft_limit(""), None);
    }
}
