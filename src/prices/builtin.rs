//! The built-in price table: the providers' published list prices, USD per
//! million tokens (see [`super`] for which tier each figure is).

use super::Price;

/// The date the built-in prices were taken from the providers' price lists.
pub const BUILTIN_PRICES_AS_OF: &str = "2026-11-22";

impl Price {
    /// A price whose cache writes cost the input price (OpenAI, DeepSeek,
    /// Gemini, Qwen: none of them bills a write apart).
    pub(super) const fn new(input: f64, cached_input: f64, output: f64) -> Self {
        Self {
            input,
            cached_input: Some(cached_input),
            cache_write: None,
            cache_write_1h: None,
            output,
        }
    }

    /// Anthropic's pricing: cache reads at 0.1× input, 5-minute writes at
    /// 1.25×, 1-hour writes at 2× (its published multipliers), written out
    /// so the table reads as the price list does.
    pub(super) const fn anthropic(
        input: f64,
        read: f64,
        write_5m: f64,
        write_1h: f64,
        output: f64,
    ) -> Self {
        Self {
            input,
            cached_input: Some(read),
            cache_write: Some(write_5m),
            cache_write_1h: Some(write_1h),
            output,
        }
    }
}

/// `(provider, model, price)`.
pub(super) const BUILTIN: &[(&str, &str, Price)] = &[
    ("openai", "gpt-4.1", Price::new(2.00, 0.50, 8.00)),
    ("openai", "gpt-4.1-mini", Price::new(0.40, 0.10, 1.60)),
    ("openai", "gpt-4.1-nano", Price::new(0.10, 0.025, 0.40)),
    ("openai", "gpt-4o", Price::new(2.50, 1.25, 10.00)),
    ("openai", "gpt-4o-mini", Price::new(0.15, 0.075, 0.60)),
    ("openai", "o3", Price::new(2.00, 0.50, 8.00)),
    ("openai", "o4-mini", Price::new(1.10, 0.275, 4.40)),
    // Both names run the same model now, at one price.
    ("deepseek", "deepseek-chat", Price::new(0.28, 0.028, 0.42)),
    (
        "deepseek",
        "deepseek-reasoner",
        Price::new(0.28, 0.028, 0.42),
    ),
    // Alibaba Model Studio's international USD list; implicit cache hits
    // are billed at 20% of the input price.
    ("qwen", "qwen-turbo", Price::new(0.05, 0.01, 0.20)),
    ("qwen", "qwen-turbo-latest", Price::new(0.05, 0.01, 0.20)),
    ("qwen", "qwen-plus", Price::new(0.40, 0.08, 1.20)),
    ("qwen", "qwen-max", Price::new(1.60, 0.32, 6.40)),
    ("gemini", "gemini-2.5-flash", Price::new(0.30, 0.03, 2.50)),
    ("gemini", "gemini-2.5-pro", Price::new(1.25, 0.125, 10.00)),
    ("gemini", "gemini-2.0-flash", Price::new(0.10, 0.025, 0.40)),
    // Anthropic's list prices: input, cache read (0.1×), 5-minute write
    // (1.25×), 1-hour write (2×), output.
    (
        "anthropic",
        "claude-sonnet-4-5",
        Price::anthropic(3.00, 0.30, 3.75, 6.00, 15.00),
    ),
    (
        "anthropic",
        "claude-opus-4-5",
        Price::anthropic(5.00, 0.50, 6.25, 10.00, 25.00),
    ),
    (
        "anthropic",
        "claude-haiku-4-5",
        Price::anthropic(1.00, 0.10, 1.25, 2.00, 5.00),
    ),
    (
        "anthropic",
        "claude-sonnet-4-0",
        Price::anthropic(3.00, 0.30, 3.75, 6.00, 15.00),
    ),
    // OpenRouter passes the model maker's price through for these.
    (
        "openrouter",
        "openai/gpt-4o-mini",
        Price::new(0.15, 0.075, 0.60),
    ),
    (
        "openrouter",
        "anthropic/claude-3.5-sonnet",
        Price::new(3.00, 0.30, 15.00),
    ),
    (
        "openrouter",
        "anthropic/claude-sonnet-4",
        Price::new(3.00, 0.30, 15.00),
    ),
    (
        "openrouter",
        "google/gemini-2.5-flash",
        Price::new(0.30, 0.03, 2.50),
    ),
];
