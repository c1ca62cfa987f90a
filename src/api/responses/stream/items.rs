//! The output items of a [`ToResponsesStream`]: each opened before its
//! first delta, its deltas, and its closing events; the final event.

use serde_json::{Value, json};

use super::{OpenItem, ToResponsesStream};
use crate::wire::responses::Place;

use super::super::render::{
    finished, function_call_item, item_status, message_item, reasoning_item,
};

impl ToResponsesStream {
    pub(super) fn reasoning_text(&mut self, delta: &str) {
        if !matches!(self.open, Some(OpenItem::Reasoning { .. })) {
            self.open_item(OpenItem::Reasoning {
                text: String::new(),
                signature: None,
                part: false,
            });
        }
        let (id, output_index) = self.place();
        let at = Place {
            item_id: &id,
            output_index,
        };
        if let Some(OpenItem::Reasoning { text, part, .. }) = &mut self.open {
            if !*part {
                self.events.summary_part("added", at, 0, "");
                *part = true;
            }
            text.push_str(delta);
            self.events.summary_delta(at, 0, delta);
        }
    }

    pub(super) fn reasoning_signature(&mut self, value: &str) {
        if !matches!(self.open, Some(OpenItem::Reasoning { .. })) {
            self.open_item(OpenItem::Reasoning {
                text: String::new(),
                signature: None,
                part: false,
            });
        }
        if let Some(OpenItem::Reasoning { signature, .. }) = &mut self.open {
            *signature = Some(value.to_string());
        }
    }

    pub(super) fn message_text(&mut self, delta: &str) {
        if !matches!(self.open, Some(OpenItem::Message { .. })) {
            self.open_item(OpenItem::Message {
                text: String::new(),
            });
        }
        let (id, output_index) = self.place();
        let at = Place {
            item_id: &id,
            output_index,
        };
        if let Some(OpenItem::Message { text }) = &mut self.open {
            text.push_str(delta);
            self.events.text_delta(at, 0, delta);
        }
    }

    pub(super) fn tool_call(&mut self, call: &Value) {
        let chat_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let fragment = text(call.pointer("/function/arguments"));
        let continues = matches!(&self.open,
            Some(OpenItem::Call { chat_index: open, .. }) if *open == chat_index);
        if !continues {
            if self.closed_calls.contains(&chat_index) {
                return;
            }
            self.open_item(OpenItem::Call {
                chat_index,
                call_id: text(call.get("id")).to_string(),
                name: text(call.pointer("/function/name")).to_string(),
                arguments: String::new(),
            });
        }
        if fragment.is_empty() {
            return;
        }
        let (id, output_index) = self.place();
        let at = Place {
            item_id: &id,
            output_index,
        };
        if let Some(OpenItem::Call { arguments, .. }) = &mut self.open {
            arguments.push_str(fragment);
            self.events.arguments_delta(at, fragment);
        }
    }

    /// Closes the open item and announces `item` (with its first part).
    fn open_item(&mut self, item: OpenItem) {
        self.close_item();
        self.open = Some(item);
        let (id, output_index) = self.place();
        let announced = match &self.open {
            Some(OpenItem::Reasoning { .. }) => {
                json!({"type": "reasoning", "id": id, "summary": []})
            }
            Some(OpenItem::Message { .. }) => json!({"type": "message", "id": id,
                "role": "assistant", "status": "in_progress", "content": []}),
            Some(OpenItem::Call { call_id, name, .. }) => {
                function_call_item(&id, call_id, name, "", "in_progress")
            }
            None => return,
        };
        self.events.item_added(output_index, &announced);
        if matches!(self.open, Some(OpenItem::Message { .. })) {
            let at = Place {
                item_id: &id,
                output_index,
            };
            let part = json!({"type": "output_text", "text": "", "annotations": []});
            self.events.content_part("added", at, 0, &part);
        }
    }

    /// The open item's closing events, and the item kept for the output.
    pub(super) fn close_item(&mut self) {
        let (id, output_index) = self.place();
        let at = Place {
            item_id: &id,
            output_index,
        };
        let status = item_status(self.finish_reason.as_deref());
        let item = match self.open.take() {
            None => return,
            Some(OpenItem::Reasoning {
                text,
                signature,
                part,
            }) => {
                if part {
                    self.events.summary_done(at, 0, &text);
                    self.events.summary_part("done", at, 0, &text);
                }
                reasoning_item(&id, &text, signature.as_deref())
            }
            Some(OpenItem::Message { text }) => {
                self.events.text_done(at, 0, &text);
                let part = json!({"type": "output_text", "text": text, "annotations": []});
                self.events.content_part("done", at, 0, &part);
                message_item(&id, &text, status)
            }
            Some(OpenItem::Call {
                chat_index,
                call_id,
                name,
                arguments,
            }) => {
                self.events.arguments_done(at, &name, &arguments);
                self.closed_calls.push(chat_index);
                function_call_item(&id, &call_id, &name, &arguments, status)
            }
        };
        self.events.item_done(output_index, &item);
        self.output.push(item);
    }

    /// The final event, once: the whole response, its usage included.
    pub(super) fn end(&mut self) {
        if self.ended {
            return;
        }
        self.open_response(&Value::Null);
        self.close_item();
        self.ended = true;
        let Some((_, response)) = self.opened.clone() else {
            return;
        };
        // A stream that stopped without a finish reason was cut short.
        let reason = self.finish_reason.as_deref().unwrap_or("length");
        let output = std::mem::take(&mut self.output);
        let response = finished(response, output, Some(reason), self.usage.as_ref());
        let last = match response["status"].as_str() {
            Some("incomplete") => "response.incomplete",
            _ => "response.completed",
        };
        self.events.emit(last, json!({"response": response}));
    }

    /// A chat error event as the stream's last: an `error` event.
    pub(super) fn error(&mut self, error: &Value) {
        let field = |name: &str| error.get(name).filter(|v| !v.is_null()).cloned();
        let message = field("message").unwrap_or_else(|| json!("the upstream failed"));
        let code = field("code").or_else(|| field("type"));
        let code = code.map(|c| match c {
            Value::String(_) => c,
            other => json!(other.to_string()),
        });
        let event = json!({"code": code, "message": message, "param": field("param")});
        self.events.emit("error", event);
        self.ended = true;
    }
}

fn text(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or_default()
}
