//! What tokens cost: the built-in price table, the config file's
//! `[prices]` on top of it, and the cost of one request.
//!
//! Prices are USD per million tokens, keyed by provider and upstream model
//! (`openai` + `gpt-4o-mini`). The built-in figures are the providers'
//! published list prices as of 2026-11-22: standard tier (no batch or
//! priority discounts), the shortest-context tier where a price is tiered by
//! prompt length, non-thinking output where a model prices thinking apart
//! (Qwen). The config file replaces any of them and adds models, so a price
//! change upstream never needs a new release.
//!
//! A model without a price has no cost (`None`), never a guessed one: the
//! built-in table leaves out models whose price is not one published figure
//! (OpenRouter's open-weight models, billed at whichever host it picks).
//! A dated snapshot (`gpt-4o-2024-08-06`) costs what its base model costs;
//! any other suffix (`gpt-4o-mini`, `gemini-2.5-flash-preview-05-20`) is a
//! different model and needs its own entry.
//!
//! A request is charged for its whole [`Usage`]: `prompt_tokens` includes
//! the provider's cached reads and both kinds of cache write, so the
//! uncached rest is the prompt less those; each part has its own price
//! (cached reads at `cached_input`, 5-minute writes at `cache_write`,
//! 1-hour writes at `cache_write_1h`), each defaulting to the input price
//! (the 1-hour write to the 5-minute one first). Anthropic bills writes
//! apart (1.25× and 2× input); OpenAI, DeepSeek, Gemini and Qwen do not, so
//! their writes cost input. Beside the cost, [`Cost`] has what the
//! provider's own prompt cache saved: the cached reads at the input price
//! less at the cached price.

use std::collections::BTreeMap;

use crate::tokens::Usage;
use builtin::BUILTIN;
pub use builtin::BUILTIN_PRICES_AS_OF;

mod builtin;

/// One model's price, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Prompt tokens served from the provider's prompt cache; `None` means
    /// they cost the full input price.
    pub cached_input: Option<f64>,
    /// Prompt tokens written to a 5-minute prompt cache entry (Anthropic's
    /// default); `None` means they cost the input price.
    pub cache_write: Option<f64>,
    /// Prompt tokens written to a 1-hour prompt cache entry; `None` means
    /// the 5-minute write price (which itself defaults to the input price).
    pub cache_write_1h: Option<f64>,
    pub output: f64,
}

impl Price {
    /// The price of a cached prompt token, defaults applied.
    pub fn cached_input_price(&self) -> f64 {
        self.cached_input.unwrap_or(self.input)
    }

    /// The price of a prompt token written to a 5-minute cache entry.
    pub fn cache_write_price(&self) -> f64 {
        self.cache_write.unwrap_or(self.input)
    }

    /// The price of a prompt token written to a 1-hour cache entry.
    pub fn cache_write_1h_price(&self) -> f64 {
        self.cache_write_1h
            .or(self.cache_write)
            .unwrap_or(self.input)
    }

    /// What `usage` costs at this price. The prompt's parts are taken in
    /// the order cached reads, 5-minute writes, 1-hour writes, each at most
    /// what is left of `prompt_tokens`, so a provider reporting more cached
    /// or written tokens than prompt tokens never makes the uncached part
    /// negative.
    pub fn charge(&self, usage: &Usage) -> Cost {
        let mut left = usage.prompt_tokens;
        let mut take = |count: u64| {
            let taken = count.min(left);
            left -= taken;
            taken as f64
        };
        let cached = take(usage.cached_tokens);
        let write_5m = take(usage.cache_write_tokens);
        let write_1h = take(usage.cache_write_1h_tokens);
        let uncached = left as f64;
        let micro_usd = uncached * self.input
            + cached * self.cached_input_price()
            + write_5m * self.cache_write_price()
            + write_1h * self.cache_write_1h_price()
            + usage.completion_tokens as f64 * self.output;
        // What the cached reads would have cost as plain input, less what
        // they did cost; never negative, even for an odd price override.
        let saved_micro_usd = self
            .cached_input
            .map_or(0.0, |read| cached * (self.input - read).max(0.0));
        Cost {
            cost_usd: micro_usd / 1_000_000.0,
            provider_cache_saved_usd: saved_micro_usd / 1_000_000.0,
        }
    }
}

/// What one request cost, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// Uncached input, cached reads, cache writes and output at their
    /// prices.
    pub cost_usd: f64,
    /// What the provider's own prompt cache saved on the request: its
    /// cached reads at the input price less at the cached price (0 when the
    /// model has no cached price).
    pub provider_cache_saved_usd: f64,
}

/// Prices by provider, then upstream model: the built-in table with the
/// config file's entries over it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    by_provider: BTreeMap<String, BTreeMap<String, Price>>,
}

impl Default for PriceTable {
    /// The built-in table.
    fn default() -> Self {
        Self::builtin()
    }
}

impl PriceTable {
    /// The built-in table.
    pub fn builtin() -> Self {
        let mut table = Self::empty();
        for (provider, model, price) in BUILTIN {
            table.insert(provider, model, *price);
        }
        table
    }

    /// A table with no prices at all.
    pub fn empty() -> Self {
        Self {
            by_provider: BTreeMap::new(),
        }
    }

    /// Sets a model's price, replacing any it had.
    pub fn insert(&mut self, provider: &str, model: &str, price: Price) {
        self.by_provider
            .entry(provider.to_string())
            .or_default()
            .insert(model.to_string(), price);
    }

    /// Every entry as `(provider, model, price)`, sorted.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, Price)> {
        self.by_provider.iter().flat_map(|(provider, models)| {
            models
                .iter()
                .map(move |(model, price)| (provider.as_str(), model.as_str(), *price))
        })
    }

    /// The price of `model` at `provider`: its own entry, else the entry of
    /// the longest base name it extends with a date-like suffix
    /// (`gpt-4o-2024-08-06` → `gpt-4o`).
    pub fn lookup(&self, provider: &str, model: &str) -> Option<Price> {
        let models = self.by_provider.get(provider)?;
        if let Some(price) = models.get(model) {
            return Some(*price);
        }
        // Right to left, so the longest base wins.
        model
            .char_indices()
            .rev()
            .filter(|&(_, c)| c == '-')
            .find_map(|(at, _)| {
                let suffix = &model[at + 1..];
                is_snapshot_suffix(suffix)
                    .then(|| models.get(&model[..at]))
                    .flatten()
            })
            .copied()
    }

    /// What a request's `usage` cost at `provider`'s price for `model`
    /// (see [`Price::charge`]); `None` when the model has no price.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<Cost> {
        Some(self.lookup(provider, model)?.charge(usage))
    }
}

/// Whether `suffix` names a snapshot of the same model: a date
/// (`2024-08-06`, `20241022`, `0613`) or Gemini's three-digit stable
/// version (`001`).
fn is_snapshot_suffix(suffix: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = suffix.split('-').collect();
    if !parts.iter().all(|part| digits(part)) {
        return false;
    }
    // Only ASCII digits from here, so slicing by byte is safe.
    let value = |part: &str| part.parse::<u32>().unwrap_or(0);
    let year = |y: &str| (2000..=2099).contains(&value(y));
    let month_day = |m: &str, d: &str| (1..=12).contains(&value(m)) && (1..=31).contains(&value(d));
    match parts.as_slice() {
        [version] if version.len() == 3 => true,
        [date] if date.len() == 4 => month_day(&date[..2], &date[2..]),
        [date] if date.len() == 8 => year(&date[..4]) && month_day(&date[4..6], &date[6..]),
        [y, m, d] if (y.len(), m.len(), d.len()) == (4, 2, 2) => year(y) && month_day(m, d),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
