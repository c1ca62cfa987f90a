//! Streams of answer chunks: the one SSE parser ([`sse`]), the time limits
//! of a body as it arrives ([`timeout`]), one wire's stream turned into
//! another's as it passes ([`transcode`]), and the relay that hands chunks
//! to a client so that a failure is never mistaken for an end ([`relay`]).
//!
//! A stream stays a stream everywhere: chunks pass as the same `Bytes`
//! they arrived in, and nothing here collects a body.

pub mod gathered;
pub mod relay;
pub mod sse;
pub mod timeout;
pub mod transcode;

use axum::body::Bytes;

/// One chunk of an answer, or why the answer ended before its end.
pub type Chunk = Result<Bytes, StreamFault>;

/// Why a body ended before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamFault {
    /// The connection broke or the upstream sent something unreadable.
    #[error("the provider's stream broke off before it was complete")]
    Broken,
    /// Nothing arrived for the idle timeout.
    #[error("the provider sent nothing for {} s, so the stream was ended", .0.as_secs())]
    Idle(std::time::Duration),
    /// The total timeout passed.
    #[error("the answer took longer than the total timeout of {} s, so the stream was ended", .0.as_secs())]
    Total(std::time::Duration),
}

impl StreamFault {
    /// Timeouts are ours: the stream can end cleanly after saying so.
    pub fn is_timeout(self) -> bool {
        matches!(self, Self::Idle(_) | Self::Total(_))
    }

    /// `error.code` of the SSE error event.
    pub fn code(self) -> &'static str {
        match self {
            Self::Broken => "upstream_stream_error",
            Self::Idle(_) | Self::Total(_) => "upstream_timeout",
        }
    }
}
