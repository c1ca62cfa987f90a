//! `POST /v1/chat/completions`: parse, route, forward, relay.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Caller;
use crate::chat_body::ChatBody;
use crate::error::AppError;
use crate::observe::PROVIDER;
use crate::providers::Forwarded;
use crate::proxy;
use crate::request_log::LogSlot;

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<LogSlot>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let raw = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge {
            limit: state.config.max_body_bytes,
        },
        _ => AppError::BodyUnreadable,
    })?;
    let chat = ChatBody::parse(raw)?;
    slot.update(|entry| {
        entry.model = Some(chat.model().to_string());
        entry.stream = Some(chat.stream());
        if state.request_log.log_bodies() {
            entry.request_body = Some(chat.raw().clone());
        }
    });

    let route = state.registry.resolve(chat.model())?;
    let provider = route.provider.name();
    slot.update(|entry| {
        entry.provider = Some(provider.to_string());
        entry.upstream_model = Some(route.upstream_model.clone());
    });

    let request = route.provider.chat_request(
        chat.for_upstream(&route.upstream_model),
        Forwarded {
            client_authorization: caller.passthrough_authorization.as_ref(),
            headers: Some(&headers),
        },
    );
    match proxy::send(request, route.provider.as_ref()).await {
        Ok(upstream) => Ok(proxy::relay(upstream, provider)),
        Err(error) => {
            let mut response = error.into_response();
            if let Ok(value) = HeaderValue::from_str(provider) {
                response.headers_mut().insert(PROVIDER, value);
            }
            Ok(response)
        }
    }
}
