//! OpenAI embeddings on the wire: a `list` of `embedding` objects, each with
//! its `index`, and a `usage` of `prompt_tokens` (no completion). Always
//! JSON: embeddings are never streamed.

use serde_json::Value;

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
}
