//! OpenAI embeddings on the wire: a `list` of `embedding` objects, each with
//! its `index`, and a `usage` of `prompt_tokens` (no completion). Always
//! JSON: embeddings are never streamed.
//!
//! Items are stored one per entry, as a list of one embedding of floats
//! ([`item_answer`]); a batch's answer is split into them ([`split`]) and
//! put together again in the client's order ([`join`]), with the vectors
//! as base64 when the client asked so ([`as_base64`]).

use axum::body::Bytes;
use base64::Engine;
use serde_json::{Value, json};

use crate::wire::{BodyKind, Uncacheable};

/// Checks a complete embeddings answer: JSON with a non-empty `data` list
/// and no `error`; on success the usage it reports.
pub fn check(kind: BodyKind, body: &[u8]) -> Result<Option<Value>, Uncacheable> {
    if kind != BodyKind::Json {
        return Err(Uncacheable::ContentType);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| Uncacheable::NotJson)?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(Uncacheable::ErrorObject);
    }
    match value.get("data").and_then(Value::as_array) {
        Some(data) if !data.is_empty() => {}
        _ => return Err(Uncacheable::NoChoices),
    }
    Ok(value.get("usage").filter(|u| !u.is_null()).cloned())
}

/// A batch answer's embeddings in index order, and its model and usage;
/// `None` when it is not a list of `n` embeddings with indices `0..n`.
pub fn split(body: &[u8], n: usize) -> Option<(Vec<Value>, Value, Option<Value>)> {
    let mut answer: Value = serde_json::from_slice(body).ok()?;
    let mut data = answer.get_mut("data")?.as_array_mut().map(std::mem::take)?;
    data.sort_by_key(|item| item.get("index").and_then(Value::as_u64));
    let indexed = data
        .iter()
        .enumerate()
        .all(|(i, item)| item.get("index").and_then(Value::as_u64) == Some(i as u64));
    if data.len() != n || !indexed {
        return None;
    }
    let model = answer.get("model").cloned().unwrap_or(Value::Null);
    let usage = answer.get("usage").filter(|u| !u.is_null()).cloned();
    Some((data, model, usage))
}

/// One item's stored answer: a list of its one embedding, with its share
/// of the batch's prompt tokens.
pub fn item_answer(embedding: &Value, model: &Value, prompt_tokens: u64) -> Bytes {
    let mut embedding = embedding.clone();
    if let Some(object) = embedding.as_object_mut() {
        object.insert("index".into(), json!(0));
    }
    let answer = json!({
        "object": "list",
        "data": [embedding],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    });
    Bytes::from(answer.to_string())
}

/// The first embedding of a stored item answer, and its prompt tokens.
pub fn stored_item(body: &[u8]) -> Option<(Value, u64)> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    let embedding = answer.get("data")?.get(0)?.clone();
    let tokens = answer["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    Some((embedding, tokens))
}

/// The client's answer: `embeddings` in its order, indexed from 0.
pub fn join(embeddings: Vec<Value>, model: &Value, prompt_tokens: u64) -> Bytes {
    let data: Vec<Value> = embeddings
        .into_iter()
        .enumerate()
        .map(|(index, mut embedding)| {
            if let Some(object) = embedding.as_object_mut() {
                object.insert("index".into(), json!(index));
            }
            embedding
        })
        .collect();
    let answer = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    });
    Bytes::from(answer.to_string())
}

/// An answer with every float vector written as base64 (little-endian
/// `f32`s, as OpenAI encodes them); vectors already in base64 stay.
pub fn as_base64(body: &Bytes) -> Bytes {
    let Ok(mut answer) = serde_json::from_slice::<Value>(body) else {
        return body.clone();
    };
    let items = answer.get_mut("data").and_then(Value::as_array_mut);
    for item in items.into_iter().flatten() {
        let Some(vector) = item.get("embedding").and_then(Value::as_array) else {
            continue;
        };
        let bytes: Vec<u8> = vector
            .iter()
            .flat_map(|x| (x.as_f64().unwrap_or(0.0) as f32).to_le_bytes())
            .collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        item["embedding"] = Value::String(encoded);
    }
    Bytes::from(answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_list_with_embeddings_is_complete() {
        let ok = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"usage":{"prompt_tokens":2,"total_tokens":2}}"#;
        assert_eq!(
            check(BodyKind::Json, ok).unwrap().unwrap()["prompt_tokens"],
            2
        );
        let empty = br#"{"object":"list","data":[]}"#;
        assert_eq!(check(BodyKind::Json, empty), Err(Uncacheable::NoChoices));
        let error = br#"{"error":{"message":"no"}}"#;
        assert_eq!(check(BodyKind::Json, error), Err(Uncacheable::ErrorObject));
        assert_eq!(check(BodyKind::Sse, ok), Err(Uncacheable::ContentType));
    }

    #[test]
    fn a_batch_is_split_and_joined_in_the_clients_order() {
        let batch = br#"{"object":"list","data":[{"object":"embedding","index":1,"embedding":[2.0]},{"object":"embedding","index":0,"embedding":[1.0]}],"model":"m","usage":{"prompt_tokens":4,"total_tokens":4}}"#;
        let (items, model, usage) = split(batch, 2).unwrap();
        assert_eq!(items[0]["embedding"], json!([1.0]));
        assert_eq!(usage.unwrap()["prompt_tokens"], 4);
        assert!(split(batch, 3).is_none());
        let stored = item_answer(&items[1], &model, 2);
        let (again, tokens) = stored_item(&stored).unwrap();
        assert_eq!((again["embedding"].clone(), tokens), (json!([2.0]), 2));
        let joined: Value =
            serde_json::from_slice(&join(vec![again, items[0].clone()], &model, 4)).unwrap();
        assert_eq!(joined["data"][0]["index"], 0);
        assert_eq!(joined["data"][0]["embedding"], json!([2.0]));
        assert_eq!(joined["data"][1]["index"], 1);
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let body = Bytes::from_static(br#"{"data":[{"index":0,"embedding":[1.0,-2.5]}]}"#);
        let encoded: Value = serde_json::from_slice(&as_base64(&body)).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let floats: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, [1.0, -2.5]);
    }
}
