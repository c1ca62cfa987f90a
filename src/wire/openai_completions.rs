//! OpenAI legacy completions on the wire (`text_completion`): the same
//! envelope as chat (`choices` with a `finish_reason`, `usage`, `[DONE]`),
//! but each choice carries `text` instead of a message, and a streamed
//! chunk carries the next piece of `text` instead of a delta. Completeness
//! and usage follow chat's rules ([`crate::wire::openai_chat::check`]);
//! this module converts the two stored forms into each other, so a
//! streamed and a non-streamed request share one entry.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::stream::sse::payloads;

/// Fields a completion and each of its chunks share.
const SHARED_FIELDS: [&str; 4] = ["id", "created", "model", "system_fingerprint"];

/// A stored `text_completion` as SSE: one chunk per choice with its whole
/// text and finish reason, then (when asked) a usage chunk with empty
/// `choices`, then `[DONE]`.
pub fn completion_to_chunks(completion: &Value, include_usage: bool) -> String {
    let mut head = Map::new();
    head.insert("object".into(), json!("text_completion"));
    for field in SHARED_FIELDS {
        if let Some(value) = completion.get(field).filter(|v| !v.is_null()) {
            head.insert(field.to_string(), value.clone());
        }
    }
    let mut out = String::new();
    let mut push = |choices: Value, usage: Option<&Value>| {
        let mut chunk = head.clone();
        chunk.insert("choices".into(), choices);
        if let Some(usage) = usage {
            chunk.insert("usage".into(), usage.clone());
        }
        out.push_str(&format!("data: {}\n\n", Value::Object(chunk)));
    };
    let choices = completion.get("choices").and_then(Value::as_array);
    for (position, choice) in choices.into_iter().flatten().enumerate() {
        push(
            json!([{
                "index": choice.get("index").cloned().unwrap_or(json!(position)),
                "text": choice.get("text").cloned().unwrap_or(json!("")),
                "logprobs": choice.get("logprobs").cloned().unwrap_or(Value::Null),
                "finish_reason": choice.get("finish_reason").cloned().unwrap_or(Value::Null),
            }]),
            None,
        );
    }
    if let Some(usage) = completion
        .get("usage")
        .filter(|u| !u.is_null() && include_usage)
    {
        push(json!([]), Some(usage));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// A whole completions stream assembled into one `text_completion`: each
/// choice's pieces of text concatenated by index, its last finish reason,
/// the usage.
pub fn chunks_to_completion(sse: &[u8]) -> Value {
    let mut head = Map::new();
    let mut choices: BTreeMap<u64, (String, Value)> = BTreeMap::new();
    let mut usage = Value::Null;
    for data in payloads(sse) {
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        for field in SHARED_FIELDS {
            if let Some(value) = chunk.get(field).filter(|v| !v.is_null()) {
                head.entry(field.to_string()).or_insert(value.clone());
            }
        }
        if let Some(found) = chunk.get("usage").filter(|u| !u.is_null()) {
            usage = found.clone();
        }
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let entry = choices.entry(index).or_insert((String::new(), Value::Null));
            entry
                .0
                .push_str(choice.get("text").and_then(Value::as_str).unwrap_or(""));
            if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
                entry.1 = reason.clone();
            }
        }
    }
    head.insert("object".into(), json!("text_completion"));
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|(index, (text, finish_reason))| {
            json!({"index": index, "text": text, "logprobs": null, "finish_reason": finish_reason})
        })
        .collect();
    head.insert("choices".into(), Value::Array(choices));
    head.insert("usage".into(), usage);
    Value::Object(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETION: &str = r#"{"id":"cmpl-1","object":"text_completion","created":7,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"Hello there","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;

    #[test]
    fn a_completion_becomes_chunks_and_back() {
        let completion: Value = serde_json::from_str(COMPLETION).unwrap();
        let sse = completion_to_chunks(&completion, true);
        assert!(sse.ends_with("data: [DONE]\n\n"));
        assert_eq!(chunks_to_completion(sse.as_bytes()), completion);
        let without = completion_to_chunks(&completion, false);
        assert!(!without.contains("\"usage\""));
    }

    #[test]
    fn pieces_are_joined_by_choice() {
        let sse = concat!(
            "data: {\"id\":\"c\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"He\",\"index\":0,\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"llo\",\"index\":0,\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        let completion = chunks_to_completion(sse.as_bytes());
        assert_eq!(completion["choices"][0]["text"], "Hello");
        assert_eq!(completion["choices"][0]["finish_reason"], "stop");
        assert_eq!(completion["usage"], Value::Null);
    }
}
