//! Anthropic Messages on the wire: its answers' two forms (one `message`
//! JSON, or its named SSE events) converted into each other ([`forms`]).

pub mod forms;
