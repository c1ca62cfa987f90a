//! Inbound dialects: the APIs clients speak, each turning its requests
//! into the pipeline's [`crate::pipeline::Exchange`] and rendering answers
//! back in its own shape.
//!
//! - [`openai_chat`]: `POST /v1/chat/completions`.
//! - [`responses`]: `POST /v1/responses`.
//! - [`models`]: `GET /v1/models`, the list every OpenAI-style client
//!   reads.

pub mod body;
pub mod models;
pub mod openai_chat;
pub mod responses;
