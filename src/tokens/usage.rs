//! [`Usage`]: the token counts of one answer, as reported or estimated, in
//! one shape whatever the wire (see `FORMATS.md`'s identities: OpenAI's
//! `prompt_tokens` includes cached reads and cache writes, Anthropic's
//! `input_tokens` does not; Gemini's thoughts are outside its candidates).

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every input token: cached reads and cache writes included.
    pub prompt_tokens: u64,
    /// Every output token, reasoning included.
    pub completion_tokens: u64,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's prompt cache (Anthropic's
    /// 5-minute entries, OpenAI's cache writes).
    pub cache_write_tokens: u64,
    /// Prompt tokens written to a 1-hour prompt cache (Anthropic).
    pub cache_write_1h_tokens: u64,
    /// Output tokens spent reasoning (part of `completion_tokens`).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Prompt and completion tokens together.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}
