//! Cache entries as the dashboard shows them: a list item, and one entry
//! with its request and its response (JSON parsed, SSE split into events
//! with the time each arrived, from the chunk timings the entry keeps).

use serde_json::{Value, json};

use crate::cache::store::Listed;
use crate::cache::{CacheEntry, ChunkTiming};
use crate::wire::BodyKind;

/// One entry of a list.
pub fn item(entry: &Listed) -> Value {
    let meta = &entry.meta;
    json!({
        "key": meta.key,
        "model": meta.model,
        "provider": meta.provider,
        "upstream_model": meta.upstream_model,
        "created": meta.created,
        "created_ms": meta.created_ms,
        "status": meta.status,
        "kind": kind(meta.kind),
        "wire": meta.wire,
        "bytes": entry.disk_bytes,
        "latency_ms": meta.latency_ms,
    })
}

fn kind(kind: BodyKind) -> &'static str {
    match kind {
        BodyKind::Json => "json",
        BodyKind::Sse => "sse",
    }
}

/// One entry, whole. Stored requests never hold a key (the gateway stores
/// the body only), so they are shown as they are.
pub fn entry_view(entry: &CacheEntry, request: Option<&str>) -> Value {
    let request = request.map(|text| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    let text = String::from_utf8_lossy(&entry.body);
    let response = match entry.meta.kind {
        BodyKind::Json => match serde_json::from_slice::<Value>(&entry.body) {
            Ok(body) => json!({ "kind": "json", "body": body }),
            Err(_) => json!({ "kind": "text", "body": text }),
        },
        BodyKind::Sse => json!({ "kind": "sse", "events": sse_events(&text, &entry.meta.chunks) }),
    };
    json!({
        "key": entry.meta.key,
        "meta": entry.meta,
        "request": request,
        "response": response,
    })
}

/// The events of an SSE body, each with the time its first byte arrived.
fn sse_events(text: &str, chunks: &[ChunkTiming]) -> Vec<Value> {
    let mut events = Vec::new();
    let mut offset = 0usize;
    for block in text.split_inclusive("\n\n") {
        let start = offset;
        offset += block.len();
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = Some(value.trim());
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if name.is_none() && data.is_empty() {
            continue;
        }
        events.push(json!({
            "offset_ms": arrival_ms(chunks, start as u64),
            "event": name,
            "data": data.join("\n"),
        }));
    }
    events
}

/// When the byte at `position` arrived: the offset of the chunk holding
/// it (`None` for entries stored without timings).
fn arrival_ms(chunks: &[ChunkTiming], position: u64) -> Option<u64> {
    let mut end = 0u64;
    for chunk in chunks {
        end += chunk.len;
        if position < end {
            return Some(chunk.offset_ms);
        }
    }
    chunks.last().map(|c| c.offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_get_the_time_their_chunk_arrived() {
        let body = "data: {\"a\":1}\n\nevent: done\ndata: [DONE]\n\n";
        let chunks = [
            ChunkTiming {
                offset_ms: 3,
                len: 15,
            },
            ChunkTiming {
                offset_ms: 40,
                len: 30,
            },
        ];
        let events = sse_events(body, &chunks);
        assert_eq!(
            events,
            vec![
                json!({"offset_ms": 3, "event": null, "data": "{\"a\":1}"}),
                json!({"offset_ms": 40, "event": "done", "data": "[DONE]"}),
            ]
        );
        assert_eq!(sse_events(body, &[])[0]["offset_ms"], Value::Null);
    }
}
