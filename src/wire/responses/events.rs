//! Writing a Responses event stream: each event
//! `event: NAME\ndata: {…,"type":NAME,"sequence_number":n}\n\n`, `n` rising
//! from 0 ([`EventWriter`]), and the events of one output item in the
//! order OpenAI sends them ([`item_events`]: `output_item.added` first,
//! then its parts and deltas, `output_item.done` last).

use serde_json::{Map, Value, json};

/// Where an event belongs: its output item.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub item_id: &'a str,
    pub output_index: usize,
}

/// Events being written, numbered in order.
#[derive(Debug, Default)]
pub struct EventWriter {
    next: u64,
    out: String,
}

impl EventWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// One event of type `kind`; `fields` (an object) are its other members.
    pub fn emit(&mut self, kind: &str, fields: Value) {
        let mut data = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        data.insert("type".into(), json!(kind));
        data.insert("sequence_number".into(), json!(self.next));
        self.next += 1;
        self.out += &format!("event: {kind}\ndata: {}\n\n", Value::Object(data));
    }

    /// The text written since the last take.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    pub fn item_added(&mut self, output_index: usize, item: &Value) {
        let fields = json!({"output_index": output_index, "item": item});
        self.emit("response.output_item.added", fields);
    }

    pub fn item_done(&mut self, output_index: usize, item: &Value) {
        let fields = json!({"output_index": output_index, "item": item});
        self.emit("response.output_item.done", fields);
    }

    /// A content part's `added` or `done` (`which`).
    pub fn content_part(&mut self, which: &str, at: Place<'_>, index: usize, part: &Value) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "content_index": index, "part": part});
        self.emit(&format!("response.content_part.{which}"), fields);
    }

    pub fn text_delta(&mut self, at: Place<'_>, index: usize, delta: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "content_index": index, "delta": delta, "logprobs": []});
        self.emit("response.output_text.delta", fields);
    }

    pub fn text_done(&mut self, at: Place<'_>, index: usize, text: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "content_index": index, "text": text, "logprobs": []});
        self.emit("response.output_text.done", fields);
    }

    pub fn arguments_delta(&mut self, at: Place<'_>, delta: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "delta": delta});
        self.emit("response.function_call_arguments.delta", fields);
    }

    pub fn arguments_done(&mut self, at: Place<'_>, name: &str, arguments: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "name": name, "arguments": arguments});
        self.emit("response.function_call_arguments.done", fields);
    }

    /// A reasoning summary part's `added` or `done` (`which`).
    pub fn summary_part(&mut self, which: &str, at: Place<'_>, index: usize, text: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "summary_index": index, "part": {"type": "summary_text", "text": text}});
        self.emit(&format!("response.reasoning_summary_part.{which}"), fields);
    }

    pub fn summary_delta(&mut self, at: Place<'_>, index: usize, delta: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "summary_index": index, "delta": delta});
        self.emit("response.reasoning_summary_text.delta", fields);
    }

    pub fn summary_done(&mut self, at: Place<'_>, index: usize, text: &str) {
        let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
            "summary_index": index, "text": text});
        self.emit("response.reasoning_summary_text.done", fields);
    }
}

/// The events of one whole output item, its text sent as one delta.
pub fn item_events(events: &mut EventWriter, output_index: usize, item: &Value) {
    let item_id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    let at = Place {
        item_id,
        output_index,
    };
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            events.item_added(output_index, &skeleton(item, "content", json!([])));
            for (index, part) in list(item, "content").iter().enumerate() {
                content_part_events(events, at, index, part);
            }
        }
        Some("function_call") => {
            events.item_added(output_index, &skeleton(item, "arguments", json!("")));
            let arguments = text_of(item, "arguments");
            if !arguments.is_empty() {
                events.arguments_delta(at, arguments);
            }
            events.arguments_done(at, text_of(item, "name"), arguments);
        }
        Some("reasoning") => {
            events.item_added(output_index, &skeleton(item, "summary", json!([])));
            for (index, part) in list(item, "summary").iter().enumerate() {
                let text = text_of(part, "text");
                events.summary_part("added", at, index, "");
                events.summary_delta(at, index, text);
                events.summary_done(at, index, text);
                events.summary_part("done", at, index, text);
            }
        }
        _ => events.item_added(output_index, item),
    }
    events.item_done(output_index, item);
}

/// One content part of a message: output text streamed, a refusal as its
/// own events, anything else added and done whole.
fn content_part_events(events: &mut EventWriter, at: Place<'_>, index: usize, part: &Value) {
    match part.get("type").and_then(Value::as_str) {
        Some("output_text") => {
            let text = text_of(part, "text");
            let empty = json!({"type": "output_text", "text": "", "annotations": []});
            events.content_part("added", at, index, &empty);
            if !text.is_empty() {
                events.text_delta(at, index, text);
            }
            events.text_done(at, index, text);
        }
        Some("refusal") => {
            let refusal = text_of(part, "refusal");
            let empty = json!({"type": "refusal", "refusal": ""});
            events.content_part("added", at, index, &empty);
            let fields = json!({"item_id": at.item_id, "output_index": at.output_index,
                "content_index": index});
            let mut delta = fields.clone();
            delta["delta"] = json!(refusal);
            events.emit("response.refusal.delta", delta);
            let mut done = fields;
            done["refusal"] = json!(refusal);
            events.emit("response.refusal.done", done);
        }
        _ => events.content_part("added", at, index, part),
    }
    events.content_part("done", at, index, part);
}

/// An item as first announced: `field` empty, status in progress.
fn skeleton(item: &Value, field: &str, empty: Value) -> Value {
    let mut item = item.clone();
    if let Some(object) = item.as_object_mut() {
        object.insert(field.into(), empty);
        if object.contains_key("status") {
            object.insert("status".into(), json!("in_progress"));
        }
    }
    item
}

fn list<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value
        .get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}
