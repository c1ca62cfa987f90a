//! The dialect's rendering of whole answers, native and from the exchange.

use axum::body::Bytes;
use serde_json::{Value, json};

use super::*;

fn form(stream: bool) -> ReplyForm {
    ReplyForm {
        stream,
        include_usage: false,
        paced: false,
    }
}

fn answered(wire: Wire) -> Answered<'static> {
    Answered {
        wire,
        model: "claude-sonnet-4-5",
    }
}

fn native_message() -> Value {
    json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi! My name is Claude."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 2095, "output_tokens": 503}
    })
}

#[test]
fn native_answers_pass_or_change_form() {
    let dialect = AnthropicMessages;
    let json_body = Bytes::from(native_message().to_string());
    let (kind, same) = dialect.whole(
        answered(Wire::AnthropicMessages),
        BodyKind::Json,
        &json_body,
        form(false),
    );
    assert_eq!((kind, &same), (BodyKind::Json, &json_body));
    let (kind, sse) = dialect.whole(
        answered(Wire::AnthropicMessages),
        BodyKind::Json,
        &json_body,
        form(true),
    );
    assert_eq!(kind, BodyKind::Sse);
    assert!(sse.starts_with(b"event: message_start\n"));
    let (kind, passed) = dialect.whole(
        answered(Wire::AnthropicMessages),
        BodyKind::Sse,
        &sse,
        form(true),
    );
    assert_eq!((kind, &passed), (BodyKind::Sse, &sse));
    let (kind, back) = dialect.whole(
        answered(Wire::AnthropicMessages),
        BodyKind::Sse,
        &sse,
        form(false),
    );
    assert_eq!(kind, BodyKind::Json);
    assert_eq!(
        serde_json::from_slice::<Value>(&back).unwrap(),
        native_message()
    );
}

#[test]
fn exchange_answers_are_rendered() {
    let dialect = AnthropicMessages;
    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2}
    });
    let body = Bytes::from(completion.to_string());
    let (kind, json_out) = dialect.whole(
        answered(Wire::OpenAiChat),
        BodyKind::Json,
        &body,
        form(false),
    );
    assert_eq!(kind, BodyKind::Json);
    let message: Value = serde_json::from_slice(&json_out).unwrap();
    assert_eq!(message["id"], "msg_1");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "Hello"}])
    );
    assert_eq!(message["usage"]["input_tokens"], 9);
    let sse = crate::wire::openai_chat::completion_to_chunks(&completion, true);
    let (kind, events) = dialect.whole(
        answered(Wire::OpenAiChat),
        BodyKind::Sse,
        &Bytes::from(sse),
        form(true),
    );
    assert_eq!(kind, BodyKind::Sse);
    assert_eq!(events_to_message(&events), message);
}

#[test]
fn a_stored_exchange_stream_keeps_its_signature_in_json() {
    let chat = concat!(
        "data: {\"id\":\"chatcmpl-5\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Hmm.\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-5\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_signature\":\"EqQB\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-5\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Yes.\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"chatcmpl-5\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
    );
    let (kind, body) = AnthropicMessages.whole(
        answered(Wire::OpenAiChat),
        BodyKind::Sse,
        &Bytes::from(chat),
        form(false),
    );
    assert_eq!(kind, BodyKind::Json);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({
            "id": "msg_5", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "Hmm.", "signature": "EqQB"},
                {"type": "text", "text": "Yes."}
            ],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 4}
        })
    );
}

#[tokio::test]
async fn streams_pass_natively_and_are_rendered_otherwise() {
    let dialect = AnthropicMessages;
    let native = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let chunks = futures::stream::iter(vec![Ok(Bytes::from(native))]).boxed();
    let out: Vec<Chunk> = dialect
        .stream(answered(Wire::AnthropicMessages), chunks, form(true))
        .collect()
        .await;
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [Bytes::from(native)]
    );
    let chat = "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let chunks = futures::stream::iter(vec![Ok(Bytes::from(chat))]).boxed();
    let out: Vec<Chunk> = dialect
        .stream(answered(Wire::OpenAiChat), chunks, form(true))
        .collect()
        .await;
    let text: Vec<u8> = out.into_iter().flat_map(|c| c.unwrap().to_vec()).collect();
    let message = events_to_message(&text);
    assert_eq!(message["content"], json!([{"type": "text", "text": "Hi"}]));
    assert_eq!(message["model"], "claude-sonnet-4-5");
    assert_eq!(dialect.endpoint(), "messages");
    assert_eq!(dialect.error_shape(), ErrorShape::Anthropic);
}
