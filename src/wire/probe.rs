//! Reading an answer's usage as it passes, whatever its wire: the
//! [`Probe`] each wire implements, and what it found ([`Probed`]).

use crate::tokens::Usage;

/// What a probe found once the body ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probed {
    pub usage: Option<Usage>,
    /// The answer's text, when it was gathered (no usage expected).
    pub text: Option<String>,
}

/// Reads one body's usage chunk by chunk, never holding a chunk up.
pub trait Probe: Send + std::fmt::Debug {
    /// Looks at the next chunk of the body.
    fn observe(&mut self, chunk: &[u8]);

    /// For an answer that ended before its end: a rough count of the
    /// tokens generated so far (streamed events, about one token each);
    /// `None` when the body is not a stream.
    fn events_so_far(&self) -> Option<u64>;

    /// What was found, once the body has ended.
    fn finish(self: Box<Self>) -> Probed;
}
