//! A lease holder's answer, chunk by chunk, as a Redis stream
//! (`PREFIX:flight:{KEY}:events`), so that instances waiting on the same
//! key relay it to their clients as it arrives instead of waiting for the
//! stored entry: a streamed answer starts at once everywhere.
//!
//! Records carry a type `t` and data `d`: `h` the answer's head (status,
//! relayed headers, kind, wire, model, as JSON), `c` a chunk of the body as
//! the upstream sent it, `e` the end (`complete` or `cut`). The leader's
//! records are written by one blocking task per answer, in order, batched
//! when they queue up; the stream expires a minute after its end.
//!
//! A waiter reads from the start with `XREAD BLOCK` and publishes what it
//! reads into its own flight, so its local followers get it too. When the
//! lease is gone and the stream has not ended (the leading instance died),
//! the waiter's flight ends: with nothing relayed yet its listeners look in
//! the cache and lead themselves; otherwise the answer is cut.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use redis::Value;
use serde::{Deserialize, Serialize};

use super::flight::{End, Event, Flight, FlightId, Flights};
use super::shared_flight::SharedFlights;
use crate::stream::StreamFault;
use crate::upstream::AnswerHead;

/// How long a stream is kept after its end, for late readers.
const KEPT_AFTER_END_SECS: u64 = 60;

/// One record of the stream.
enum Record {
    Head(Vec<u8>),
    Chunk(Bytes),
    End(&'static str),
}

/// The head as the stream carries it.
#[derive(Serialize, Deserialize)]
struct WrittenHead {
    status: u16,
    headers: Vec<(String, String)>,
    kind: Option<crate::wire::BodyKind>,
    wire: crate::wire::Wire,
    model: String,
}

/// The writing end, held by the leader. Dropping it without an end (the
/// leader's task went away) leaves the stream unended, as a dead leader's.
pub struct StreamOut {
    records: mpsc::Sender<Record>,
}

impl StreamOut {
    pub(super) fn start(flights: &Arc<SharedFlights>, key: &FlightId) -> Self {
        let (records, queue) = mpsc::channel();
        let (flights, name) = (Arc::clone(flights), flights.stream_name(key));
        drop(tokio::task::spawn_blocking(move || {
            write(&flights, &name, &queue)
        }));
        Self { records }
    }

    pub fn head(&self, head: &AnswerHead) {
        let written = WrittenHead {
            status: head.status.as_u16(),
            headers: head
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_string()))
                })
                .collect(),
            kind: head.kind,
            wire: head.wire,
            model: head.model.clone(),
        };
        if let Ok(json) = serde_json::to_vec(&written) {
            let _ = self.records.send(Record::Head(json));
        }
    }

    pub fn chunk(&self, chunk: &Bytes) {
        let _ = self.records.send(Record::Chunk(chunk.clone()));
    }

    pub fn end(&self, complete: bool) {
        let _ = self
            .records
            .send(Record::End(if complete { "complete" } else { "cut" }));
    }
}

/// The writer: each batch of queued records in one round trip.
fn write(flights: &SharedFlights, name: &str, queue: &mpsc::Receiver<Record>) {
    // A stream left by an earlier flight of the key (kept a minute after
    // its end) must not be read as this one.
    let mut fresh = true;
    while let Ok(first) = queue.recv() {
        let mut pipe = redis::pipe();
        if std::mem::take(&mut fresh) {
            pipe.cmd("DEL").arg(name).ignore();
        }
        let mut ended = false;
        for record in std::iter::once(first).chain(queue.try_iter()) {
            let (kind, data): (&str, &[u8]) = match &record {
                Record::Head(json) => ("h", json),
                Record::Chunk(chunk) => ("c", chunk),
                Record::End(how) => ("e", how.as_bytes()),
            };
            pipe.cmd("XADD")
                .arg(name)
                .arg("*")
                .arg("t")
                .arg(kind)
                .arg("d")
                .arg(data)
                .ignore();
            ended |= kind == "e";
        }
        if ended {
            pipe.cmd("EXPIRE")
                .arg(name)
                .arg(KEPT_AFTER_END_SECS)
                .ignore();
        }
        if flights.run(|c| pipe.query::<()>(c)).is_none() || ended {
            return;
        }
    }
}

/// Relays another instance's answer into `flight` until it ends.
pub(super) async fn relay(
    shared: Arc<SharedFlights>,
    key: FlightId,
    flights: Arc<Flights>,
    flight: Arc<Flight>,
    patience: Duration,
) {
    let name = shared.stream_name(&key);
    let mut last = "0-0".to_string();
    let mut relayed = false;
    let end = loop {
        let (reader, stream, from) = (Arc::clone(&shared), name.clone(), last.clone());
        let read = tokio::task::spawn_blocking(move || reader.read_stream(&stream, &from))
            .await
            .ok()
            .flatten();
        let Some(records) = read else {
            break cut_or_look_again(relayed);
        };
        if records.is_empty() && !shared.lease_held(&key).await.unwrap_or(false) {
            break cut_or_look_again(relayed);
        }
        let mut ended = None;
        for (id, kind, data) in records {
            last = id;
            match kind.as_str() {
                "h" => match head_of(&data) {
                    Some(head) => {
                        relayed = true;
                        flight.publish(Event::Head(head), patience).await;
                    }
                    None => ended = Some(cut_or_look_again(relayed)),
                },
                "c" => {
                    relayed = true;
                    flight
                        .publish(Event::Chunk(Bytes::from(data)), patience)
                        .await;
                }
                _ if data == b"complete" => ended = Some(End::Complete),
                // The leader got no whole answer: with nothing relayed, the
                // listeners try themselves.
                _ => ended = Some(cut_or_look_again(relayed)),
            }
            if ended.is_some() {
                break;
            }
        }
        if let Some(end) = ended {
            break end;
        }
    };
    flights.remove(&key, &flight);
    flight.publish(Event::End(end), patience).await;
}

fn cut_or_look_again(relayed: bool) -> End {
    match relayed {
        true => End::Cut(StreamFault::Broken),
        false => End::LookAgain,
    }
}

fn head_of(data: &[u8]) -> Option<AnswerHead> {
    let written: WrittenHead = serde_json::from_slice(data).ok()?;
    let mut headers = HeaderMap::with_capacity(written.headers.len());
    for (name, value) in written.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    Some(AnswerHead {
        status: StatusCode::from_u16(written.status).ok()?,
        headers,
        kind: written.kind,
        wire: written.wire,
        model: written.model,
    })
}

/// `(id, type, data)` of each record of an `XREAD` reply.
pub(super) fn records_of(reply: Value) -> Vec<(String, String, Vec<u8>)> {
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    };
    let mut records = Vec::new();
    let streams = match reply {
        Value::Array(streams) => streams,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return records,
    };
    for stream in streams {
        let entries = match stream {
            Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
            other => Some(other),
        };
        let Some(Value::Array(entries)) = entries else {
            continue;
        };
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let (Some(id), Some(Value::Array(fields))) =
                (parts.first().and_then(text), parts.get(1))
            else {
                continue;
            };
            let mut kind = String::new();
            let mut data = Vec::new();
            for pair in fields.chunks(2) {
                match (pair.first().and_then(text).as_deref(), pair.get(1)) {
                    (Some("t"), Some(value)) => kind = text(value).unwrap_or_default(),
                    (Some("d"), Some(Value::BulkString(bytes))) => data.clone_from(bytes),
                    _ => {}
                }
            }
            records.push((id, kind, data));
        }
    }
    records
}
