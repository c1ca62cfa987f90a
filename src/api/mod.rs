//! Inbound dialects: the APIs clients speak, each turning its requests
//! into the pipeline's [`crate::pipeline::Exchange`] and rendering answers
//! back in its own shape.
//!
//! - [`openai_chat`]: `POST /v1/chat/completions`, the exchange's own
//!   form;
//! - [`anthropic_messages`]: `POST /v1/messages` (Anthropic Messages), and
//!   [`count_tokens`]: `POST /v1/messages/count_tokens`;
//! - [`responses`]: `POST /v1/responses` (OpenAI Responses, stateless);
//! - [`embeddings`]: `POST /v1/embeddings`, each input cached on its own;
//! - [`openai_completions`]: `POST /v1/completions` (legacy completions);
//! - [`models`]: `GET /v1/models`, the list every OpenAI-style client
//!   reads.
//!
//! [`body`] is the shallow JSON parse every dialect starts from.

pub mod anthropic_messages;
pub mod body;
pub mod count_tokens;
pub mod embeddings;
pub mod models;
pub mod openai_chat;
pub mod openai_completions;
pub mod responses;
