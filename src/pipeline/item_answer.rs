//! The answer of an itemized request: its items put together in the
//! client's order and rendered by its dialect, and the pass-through dialect
//! of the upstream call for the missing items.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::stream::BoxStream;
use serde_json::Value;

use super::exchange::{Answered, Dialect, Exchange, ReplyForm};
use super::item_flights::Item;
use crate::error::ErrorShape;
use crate::headers::{ANSWERING_MODEL, PROVIDER};
use crate::stream::Chunk;
use crate::upstream::Route;
use crate::wire::{BodyKind, Wire, embeddings};

/// The client's answer from its items in order, rendered by its dialect.
pub(super) fn render(
    exchange: &Exchange,
    route: &Route,
    items: Vec<Item>,
    model: &Value,
) -> Response {
    let tokens = items.iter().map(|(_, tokens)| tokens).sum();
    let embeddings = items.into_iter().map(|(embedding, _)| embedding).collect();
    let body = embeddings::join(embeddings, model, tokens);
    let answered = Answered {
        wire: Wire::OpenAiEmbeddings,
        model: model.as_str().unwrap_or(&route.upstream_model),
    };
    let form = ReplyForm {
        stream: false,
        include_usage: false,
        paced: false,
    };
    let (_, body) = exchange
        .dialect
        .whole(answered, BodyKind::Json, &body, form);
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(provider) = HeaderValue::from_str(route.provider.name()) {
        headers.insert(PROVIDER, provider);
    }
    let answered_by = format!("{}/{}", route.provider.name(), route.upstream_model);
    if let Ok(value) = HeaderValue::from_str(&answered_by) {
        headers.insert(ANSWERING_MODEL, value);
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::OK;
    *response.headers_mut() = headers;
    response
}

/// The dialect of the call for the missing items: answers pass as the
/// upstream wrote them (they are split afterwards), errors in the client's
/// shape.
#[derive(Debug)]
pub(super) struct Verbatim(pub(super) ErrorShape);

impl Dialect for Verbatim {
    fn endpoint(&self) -> &'static str {
        "embeddings"
    }

    fn native(&self) -> Wire {
        Wire::OpenAiEmbeddings
    }

    fn error_shape(&self) -> ErrorShape {
        self.0
    }

    fn stream(
        &self,
        _answer: Answered<'_>,
        chunks: BoxStream<'static, Chunk>,
        _form: ReplyForm,
    ) -> BoxStream<'static, Chunk> {
        chunks
    }

    fn whole(
        &self,
        _answer: Answered<'_>,
        kind: BodyKind,
        body: &Bytes,
        _form: ReplyForm,
    ) -> (BodyKind, Bytes) {
        (kind, body.clone())
    }
}
