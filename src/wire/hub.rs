//! Answers of the provider APIs that are not the exchange's own (Anthropic
//! Messages, Gemini) decoded into it, for the dialects that render from
//! the exchange's form: a stream event by event ([`stream`]), a whole
//! answer at once ([`whole`]). Answers already in the exchange's form — and
//! those of APIs only their own dialect reads (Responses, completions,
//! embeddings) — pass unchanged.

use axum::body::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::stream::Chunk;
use crate::stream::transcode::{Transcoded, Transcoder, whole as transcode_whole};
use serde_json::Value;

use crate::wire::{BodyKind, Wire, anthropic, gemini};

/// The `created` stamp of a decoded answer: now (the APIs decoded here do
/// not stamp their answers).
fn created() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The decoder of `wire`'s streams into the exchange's; `None` for a wire
/// that needs none.
fn decoder(wire: Wire, model: &str) -> Option<Box<dyn Transcoder>> {
    match wire {
        Wire::Gemini => Some(Box::new(gemini::ToChatStream::new(model, created()))),
        Wire::AnthropicMessages => Some(Box::new(anthropic::ToChatStream::new(model, created()))),
        Wire::OpenAiChat
        | Wire::OpenAiResponses
        | Wire::OpenAiCompletions
        | Wire::OpenAiEmbeddings
        | Wire::AnthropicCountTokens => None,
    }
}

/// A stream of `wire` (answered by `model`) as the exchange's stream.
pub fn stream(
    wire: Wire,
    model: &str,
    chunks: BoxStream<'static, Chunk>,
) -> BoxStream<'static, Chunk> {
    match decoder(wire, model) {
        Some(decoder) => Transcoded::new(chunks, decoder).boxed(),
        None => chunks,
    }
}

/// A whole answer of `wire` and `kind` in the exchange's form, same kind.
pub fn whole(wire: Wire, model: &str, kind: BodyKind, body: &Bytes) -> Bytes {
    match kind {
        BodyKind::Sse => match decoder(wire, model) {
            Some(decoder) => transcode_whole(decoder, body),
            None => body.clone(),
        },
        BodyKind::Json => whole_json(wire, model, body),
    }
}

/// A JSON answer in the exchange's form.
fn whole_json(wire: Wire, model: &str, body: &Bytes) -> Bytes {
    let decode: fn(&Value, &str, i64) -> Value = match wire {
        Wire::Gemini => gemini::to_chat_completion,
        Wire::AnthropicMessages => anthropic::to_chat_completion,
        Wire::OpenAiChat
        | Wire::OpenAiResponses
        | Wire::OpenAiCompletions
        | Wire::OpenAiEmbeddings
        | Wire::AnthropicCountTokens => return body.clone(),
    };
    // An answer that is not JSON is an error page; it passes as it is.
    match serde_json::from_slice::<Value>(body) {
        Ok(answer) => Bytes::from(decode(&answer, model, created()).to_string()),
        Err(_) => body.clone(),
    }
}
