//! The edge: the layers every request passes before a handler sees it and
//! after its response leaves, in the order it meets them:
//!
//! 1. [`request_id`]: the request's id, echoed or made.
//! 2. [`guard`]: the head's size, the `Host` it names, the web page it comes
//!    from (and CORS for the pages allowed).
//! 3. [`auth`]: the access key, and who the caller is ([`crate::caller`]).
//! 4. [`body`]: the request body whole, within its size and time limits.
//! 5. [`finish`]: when the response body ends, the request goes to the
//!    sink (request log, usage record, metrics), once.
//!
//! Steps 1, 2 and 5 are [`around`], the outermost layer; 3 and 4 are route
//! layers of the API routes. Each layer takes only its own state.

pub mod auth;
pub mod body;
pub mod finish;
pub mod guard;
pub mod request_id;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use crate::config::live::Current;
use crate::error::{AppError, ErrorCode, ErrorShape, Rendered};
use crate::headers::{PROVIDER, REQUEST_ID, SELF_PROVIDER};
use crate::notes::NoteSlot;
use crate::wire::{BodyKind, body_kind};
use finish::{Observed, ObservedBody, Sink};
use guard::Guards;

/// What the outermost layer needs.
#[derive(Clone)]
pub struct EdgeState {
    /// Who may call from a browser, and which hosts are answered.
    pub guards: Current<Guards>,
    /// Largest request head answered (`[server] max_header_bytes`).
    pub max_header_bytes: usize,
    /// Where finished requests go.
    pub sink: Arc<dyn Sink>,
    /// Cancelled when a shutdown's grace period is over.
    pub streams_cut: CancellationToken,
}

/// The outermost layer: steps 1, 2 and 5 of the module docs. A request
/// still waiting for its answer when the grace period of a shutdown ends
/// gets 503 `server_shutdown`.
pub async fn around(State(edge): State<EdgeState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let arrived_ms = chrono::Utc::now().timestamp_millis();
    let request_id = request_id::of(&request);
    let slot = NoteSlot::default();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let error_shape = ErrorShape::for_path(&path);
    request.extensions_mut().insert(slot.clone());
    let checked = edge.guards.now().check(&request, edge.max_header_bytes);
    let mut cut_early = false;
    let mut response = match checked {
        Ok(()) => tokio::select! {
            response = next.run(request) => response,
            () = edge.streams_cut.cancelled() => {
                cut_early = true;
                AppError::ShuttingDown.into_response()
            }
        },
        Err(error) => error.into_response(),
    };
    if error_shape != ErrorShape::OpenAi {
        response = rendered_in(response, error_shape);
    }
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, request_id.clone());
    if !headers.contains_key(PROVIDER) {
        headers.insert(PROVIDER, SELF_PROVIDER);
    }
    let observed = Observed {
        sink: edge.sink,
        started,
        arrived_ms,
        request_id,
        method,
        path,
        slot,
        cut_early,
        error_shape,
    };
    watch(response, observed, edge.streams_cut)
}

/// A response the gateway made from an error, rendered again in the shape
/// of the route's API (any layer may have made it, before the route was
/// known); other responses as they are.
fn rendered_in(response: Response, shape: ErrorShape) -> Response {
    let Some(Rendered(error)) = response.extensions().get::<Rendered>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(error.body_in(shape).to_string()))
}

/// `response` with its body watched to its end.
fn watch(response: Response, observed: Observed, streams_cut: CancellationToken) -> Response {
    let error = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let is_sse = body_kind(response.headers().get(CONTENT_TYPE)) == Some(BodyKind::Sse);
    let (parts, body) = response.into_parts();
    let shape = (parts.status, error, is_sse);
    let body = ObservedBody::new(body, observed, shape, streams_cut);
    Response::from_parts(parts, Body::new(body))
}
