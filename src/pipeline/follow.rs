//! A listener's response to a flight: the head when it comes, then the
//! chunks as they come — or, for a listener that wants the other form (a
//! JSON request following a stream, or the reverse), the whole answer once
//! it is complete, rendered by its dialect. A refused flight becomes the
//! gateway's error response; a cut one ends abnormally (with an error event
//! for SSE), like a relayed stream.

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::flight::{End, Event, Subscription};
use super::tap::ClientTap;
use crate::error::AppError;
use crate::headers::X_ACCEL_BUFFERING;
use crate::stream::StreamFault;
use crate::stream::relay::{client_body, mark_event_stream};
use crate::upstream::AnswerHead;
use crate::wire::BodyKind;

/// The response when a flight ended without any answer for a listener.
pub fn no_answer(provider: &str) -> Response {
    AppError::UpstreamUnreachable {
        provider: provider.to_string(),
    }
    .into_response()
}

/// A listener's response: its head, then its chunks live, or the whole
/// answer in the other form. `max_bytes` bounds what is gathered for a
/// conversion; `None` when the flight sends its listeners to the cache.
pub async fn respond(
    mut subscription: Subscription,
    provider: &str,
    tap: &ClientTap,
    max_bytes: u64,
) -> Option<Response> {
    let head = loop {
        match subscription.next().await {
            Some(Event::Head(head)) => break head,
            Some(Event::Chunk(_)) => continue,
            Some(Event::End(End::Refused(error))) => return Some(error.into_response()),
            Some(Event::End(End::LookAgain)) => return None,
            Some(Event::End(_)) | None => return Some(no_answer(provider)),
        }
    };
    let converts =
        head.status.is_success() && head.kind.is_some() && head.is_sse() != tap.form.stream;
    if converts {
        return Some(converted(subscription, head, provider, tap, max_bytes).await);
    }
    let is_sse = head.is_sse();
    let chunks = futures::stream::unfold(Some(subscription), |state| async move {
        let mut subscription = state?;
        loop {
            match subscription.next().await {
                Some(Event::Chunk(chunk)) => return Some((Ok(chunk), Some(subscription))),
                Some(Event::Head(_)) => continue,
                Some(Event::End(End::Complete)) => return None,
                Some(Event::End(End::Cut(fault))) => return Some((Err(fault), None)),
                Some(Event::End(_)) | None => return Some((Err(StreamFault::Broken), None)),
            }
        }
    });
    let mut head = head;
    let chunks = tap.wrap(&mut head, Box::pin(chunks));
    let shape = tap.dialect.error_shape();
    Some(head.into_response(client_body(is_sse, shape, chunks)))
}

/// The whole answer of a flight, up to `max_bytes`; `None` when it broke
/// off or grew past the bound.
async fn gathered(subscription: &mut Subscription, max_bytes: u64) -> Option<Bytes> {
    let mut body = Vec::new();
    loop {
        match subscription.next().await {
            Some(Event::Chunk(chunk)) => {
                if (body.len() + chunk.len()) as u64 > max_bytes {
                    return None;
                }
                body.extend_from_slice(&chunk);
            }
            Some(Event::Head(_)) => {}
            Some(Event::End(End::Complete)) => return Some(Bytes::from(body)),
            Some(Event::End(_)) | None => return None,
        }
    }
}

/// A listener's answer in the other form, once the whole answer is in: a
/// 502 when it broke off or grew past `max_bytes`.
async fn converted(
    mut subscription: Subscription,
    mut head: AnswerHead,
    provider: &str,
    tap: &ClientTap,
    max_bytes: u64,
) -> Response {
    let (Some(stored_kind), Some(body)) = (head.kind, gathered(&mut subscription, max_bytes).await)
    else {
        return AppError::UpstreamBrokeOff {
            provider: provider.to_string(),
        }
        .into_response();
    };
    let (kind, text) = tap.whole(&head, stored_kind, &body);
    set_kind(&mut head, kind);
    let chunks = futures::stream::iter([Ok(text)]);
    let shape = tap.dialect.error_shape();
    head.into_response(client_body(kind == BodyKind::Sse, shape, chunks))
}

/// The head of a body now of `kind`.
fn set_kind(head: &mut AnswerHead, kind: BodyKind) {
    let content_type = match kind {
        BodyKind::Sse => {
            mark_event_stream(&mut head.headers);
            "text/event-stream"
        }
        BodyKind::Json => {
            head.headers.remove(header::CACHE_CONTROL);
            head.headers.remove(X_ACCEL_BUFFERING);
            "application/json"
        }
    };
    head.headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    head.kind = Some(kind);
}
