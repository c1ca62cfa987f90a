//! `POST /v1/messages/count_tokens` (Anthropic's token counting), which
//! Claude Code calls before nearly every turn.
//!
//! For a model whose provider speaks Anthropic's API the request goes
//! there (through the pipeline: routed, cached, retried, keys in the
//! provider's header, `anthropic-version`/`anthropic-beta` forwarded) and
//! its answer is relayed. For any other provider there is no such
//! endpoint, so the gateway answers itself with the local tokenizer's
//! count of the request as it would be sent (translated to chat), marked
//! `"estimated": true` in the request log. Counting costs nothing: it makes
//! no usage record.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use serde_json::json;
use serde_json::value::RawValue;

use crate::api::anthropic_messages::to_chat_request;
use crate::api::body::{JsonBody, invalid};
use crate::caller::Caller;
use crate::config::ProviderKind;
use crate::error::{AppError, ErrorShape};
use crate::headers::PROVIDER;
use crate::notes::{NoteSlot, Prompt};
use crate::pipeline::{
    self, Answered, Dialect, Exchange, Incoming, ParsedRequest, Pipeline, ReplyForm,
};
use crate::stream::Chunk;
use crate::wire::{BodyKind, Wire};

/// A count-tokens body: a Messages request without `max_tokens`.
#[derive(Debug)]
pub struct CountTokensBody {
    body: JsonBody,
    model: String,
}

impl CountTokensBody {
    pub fn parse(raw: Bytes) -> Result<Self, AppError> {
        let body = JsonBody::parse(raw)?;
        let model = body.model()?;
        match body.field("messages") {
            Some(v) if v.starts_with('[') => {}
            Some(_) => return Err(invalid("messages", "`messages` must be an array")),
            None => return Err(invalid("messages", "`messages` is required")),
        }
        Ok(Self { body, model })
    }

    /// The local tokenizer's count of the request, as a chat request.
    fn estimate(&self, upstream_model: &str) -> Result<u64, AppError> {
        let chat = to_chat_request(&self.body.value()?)?;
        Ok(crate::tokens::openai_chat::estimate_prompt_tokens(
            upstream_model,
            &chat,
        ))
    }
}

impl ParsedRequest for CountTokensBody {
    fn model(&self) -> &str {
        &self.model
    }

    fn stream(&self) -> bool {
        false
    }

    fn wants_stream_usage(&self) -> bool {
        false
    }

    fn raw(&self) -> &Bytes {
        self.body.raw()
    }

    fn key_fields(&self) -> Vec<(&str, Cow<'_, RawValue>)> {
        self.body
            .fields()
            .map(|(name, value)| (name, Cow::Borrowed(value)))
            .collect()
    }

    fn wire(&self) -> Wire {
        Wire::AnthropicCountTokens
    }

    fn upstream_body(&self, upstream_model: &str, _ask_usage: bool) -> Bytes {
        self.body.for_upstream(&self.model, upstream_model, false)
    }

    fn hub_body(&self, _upstream_model: &str, _ask_usage: bool) -> Result<Bytes, AppError> {
        Err(AppError::Unsupported(
            "token counting goes upstream only to Anthropic providers".into(),
        ))
    }

    fn prompt(&self) -> Prompt {
        Prompt {
            body: self.body.raw().clone(),
            estimate: |_, _| 0,
        }
    }

    fn metered(&self) -> bool {
        false
    }
}

/// Count-token answers pass as the upstream wrote them.
#[derive(Debug)]
struct CountTokens;

impl Dialect for CountTokens {
    fn endpoint(&self) -> &'static str {
        "messages/count_tokens"
    }

    fn native(&self) -> Wire {
        Wire::AnthropicCountTokens
    }

    fn error_shape(&self) -> ErrorShape {
        ErrorShape::Anthropic
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

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(pipeline): State<Pipeline>,
    Extension(caller): Extension<Caller>,
    Extension(slot): Extension<NoteSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let started = tokio::time::Instant::now();
    let request = CountTokensBody::parse(body)?;
    let routing = pipeline.routing.now();
    let routes = routing.registry.plan(request.model())?;
    let route = &routes[0];
    if route.provider.kind() == ProviderKind::Anthropic {
        let incoming = Incoming {
            caller,
            slot,
            headers,
            started,
        };
        let exchange = Exchange {
            request: Arc::new(request),
            dialect: Arc::new(CountTokens),
        };
        return pipeline::serve(&pipeline, incoming, exchange).await;
    }
    let tokens = request.estimate(&route.upstream_model)?;
    slot.update(|notes| {
        notes.model = Some(request.model().to_string());
        notes.provider = Some(route.provider.name().to_string());
        notes.upstream_model = Some(route.upstream_model.clone());
        notes.stream = Some(false);
        notes.estimated = true;
    });
    let mut response = axum::Json(json!({ "input_tokens": tokens })).into_response();
    response
        .headers_mut()
        .insert(PROVIDER, HeaderValue::from_static("llm-bridge"));
    Ok(response)
}
