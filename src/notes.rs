//! What a request learns on its way through the gateway, noted as it goes
//! and read once when its response ends: for the request-log line and the
//! usage record. The edge creates a request's [`NoteSlot`]; every later
//! stage adds what it knows.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use crate::tokens::Usage;

/// Everything noted about one request.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    pub key_id: Option<String>,
    /// The model as the client named it.
    pub model: Option<String>,
    /// The provider and upstream model that answered (a fallback's when
    /// one did), else the ones asked.
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub stream: Option<bool>,
    /// `HIT`, `MISS` or `BYPASS`.
    pub cache: Option<&'static str>,
    pub cache_key: Option<String>,
    /// The request body, kept for the log when bodies are logged.
    pub request_body: Option<Bytes>,
    /// Token use, for the usage record.
    pub metering: Metering,
    /// The answer is the gateway's own estimate, not a provider's (token
    /// counting for a provider without that endpoint).
    pub estimated: bool,
    /// The request's reserved spend, settled by its usage record.
    pub budget: Option<Arc<crate::budgets::Reservation>>,
}

/// A request's prompt, for a local token estimate when no usage comes:
/// the body and the dialect's way of counting it.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub body: Bytes,
    /// Estimated prompt tokens of `body` for a model (the dialect's rule).
    pub estimate: fn(model: &str, body: &[u8]) -> u64,
}

/// What the request path learned about a request's token use.
#[derive(Debug, Clone, Default)]
pub struct Metering {
    /// A dialect handled the request: it gets a usage record.
    pub recorded: bool,
    /// Usage the answer reported; for a hit, the stored answer's.
    pub usage: Option<Usage>,
    /// The answer's text, gathered when no usage was expected.
    pub answer_text: Option<String>,
    /// The prompt, for an estimate when no usage comes.
    pub prompt: Option<Prompt>,
    /// The answer came from another request's upstream call (single
    /// flight): it cost nothing more, like a hit.
    pub shared: bool,
    /// A stream that ended before its end: how many events it had sent,
    /// for a rough count of the completion so far.
    pub events_before_end: Option<u64>,
}

impl Metering {
    /// Whether building the record needs the tokenizer, which is slow
    /// enough to be kept off the async threads.
    pub fn needs_estimate(&self, status: u16) -> bool {
        self.recorded
            && self.usage.is_none()
            && (200..300).contains(&status)
            && self.prompt.is_some()
    }
}

/// A request's shared [`Notes`]. The lock is only ever held for a field
/// update, never across an await.
#[derive(Debug, Clone, Default)]
pub struct NoteSlot(Arc<Mutex<Notes>>);

impl NoteSlot {
    /// Changes the notes.
    pub fn update(&self, change: impl FnOnce(&mut Notes)) {
        let mut notes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut notes);
    }

    /// A copy of the notes.
    pub fn snapshot(&self) -> Notes {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
