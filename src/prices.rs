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

use std::collections::BTreeMap;

/// One model's price, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Prompt tokens served from the provider's prompt cache; `None` means
    /// they cost the full input price.
    pub cached_input: Option<f64>,
    pub output: f64,
}

impl Price {
    const fn new(input: f64, cached_input: f64, output: f64) -> Self {
        Self {
            input,
            cached_input: Some(cached_input),
            output,
        }
    }
}

/// The date the built-in prices were taken from the providers' price lists.
pub const BUILTIN_PRICES_AS_OF: &str = "2026-11-22";

/// `(provider, model, price)`: input, cached input, output.
const BUILTIN: &[(&str, &str, Price)] = &[
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
    // Anthropic's list prices; cache reads are 0.1× input.
    (
        "anthropic",
        "claude-sonnet-4-5",
        Price::new(3.00, 0.30, 15.00),
    ),
    (
        "anthropic",
        "claude-opus-4-5",
        Price::new(5.00, 0.50, 25.00),
    ),
    (
        "anthropic",
        "claude-haiku-4-5",
        Price::new(1.00, 0.10, 5.00),
    ),
    (
        "anthropic",
        "claude-sonnet-4-0",
        Price::new(3.00, 0.30, 15.00),
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

    /// What a request cost, USD. `cached_tokens` are part of
    /// `prompt_tokens` and charged at the cached price. `None` when the
    /// model has no price.
    pub fn cost(
        &self,
        provider: &str,
        model: &str,
        prompt_tokens: u64,
        cached_tokens: u64,
        completion_tokens: u64,
    ) -> Option<f64> {
        let price = self.lookup(provider, model)?;
        // A provider reporting more cached than prompt tokens would
        // otherwise make the uncached part negative.
        let cached = cached_tokens.min(prompt_tokens);
        let uncached = prompt_tokens - cached;
        let micro_usd = uncached as f64 * price.input
            + cached as f64 * price.cached_input.unwrap_or(price.input)
            + completion_tokens as f64 * price.output;
        Some(micro_usd / 1_000_000.0)
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
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn built_in_figures() {
        let table = PriceTable::builtin();
        assert_eq!(
            table.lookup("openai", "gpt-4o-mini"),
            Some(Price {
                input: 0.15,
                cached_input: Some(0.075),
                output: 0.60
            })
        );
        let pro = table.lookup("gemini", "gemini-2.5-pro").unwrap();
        assert_eq!((pro.input, pro.output), (1.25, 10.0));
        let sonnet = table
            .lookup("openrouter", "anthropic/claude-sonnet-4")
            .unwrap();
        assert_eq!((sonnet.input, sonnet.output), (3.0, 15.0));
    }

    #[test]
    fn every_default_model_of_a_built_in_provider_is_priced_or_left_out_on_purpose() {
        let table = PriceTable::builtin();
        let unpriced: Vec<String> = crate::config::BUILTIN_PROVIDERS
            .iter()
            .flat_map(|p| p.models.iter().map(move |m| (p.name, *m)))
            .filter(|(provider, model)| table.lookup(provider, model).is_none())
            .map(|(provider, model)| format!("{provider}/{model}"))
            .collect();
        assert_eq!(
            unpriced,
            [
                "openrouter/deepseek/deepseek-chat",
                "openrouter/meta-llama/llama-3.3-70b-instruct"
            ]
        );
    }

    #[test]
    fn cost_charges_cached_prompt_tokens_at_the_cached_price() {
        let table = PriceTable::builtin();
        // gpt-4.1: 1000 uncached × $2 + 1000 cached × $0.50 + 500 × $8, per 1M.
        let cost = table.cost("openai", "gpt-4.1", 2000, 1000, 500).unwrap();
        assert!(close(cost, 0.0065), "{cost}");
        let no_cache = table.cost("openai", "gpt-4.1", 2000, 0, 500).unwrap();
        assert!(close(no_cache, 0.008), "{no_cache}");
        // More cached than prompt tokens: all of the prompt is cached.
        let clamped = table.cost("openai", "gpt-4.1", 100, 500, 0).unwrap();
        assert!(close(clamped, 0.00005), "{clamped}");
    }

    #[test]
    fn without_a_cached_price_cached_tokens_cost_the_full_input_price() {
        let mut table = PriceTable::empty();
        let price = Price {
            input: 1.0,
            cached_input: None,
            output: 2.0,
        };
        table.insert("local", "m", price);
        let cost = table.cost("local", "m", 1_000_000, 600_000, 1_000_000);
        assert!(close(cost.unwrap(), 3.0));
    }

    #[test]
    fn dated_snapshots_cost_what_their_base_model_costs() {
        let table = PriceTable::builtin();
        let base = table.lookup("openai", "gpt-4o");
        assert_eq!(table.lookup("openai", "gpt-4o-2024-08-06"), base);
        assert_eq!(
            table.lookup("openai", "gpt-4.1-mini-2025-04-14"),
            table.lookup("openai", "gpt-4.1-mini")
        );
        assert_eq!(
            table.lookup("openai", "gpt-4o-mini-2024-07-18"),
            table.lookup("openai", "gpt-4o-mini")
        );
        assert_eq!(
            table.lookup("openrouter", "anthropic/claude-sonnet-4-20250514"),
            table.lookup("openrouter", "anthropic/claude-sonnet-4")
        );
        assert_eq!(
            table.lookup("gemini", "gemini-2.0-flash-001"),
            table.lookup("gemini", "gemini-2.0-flash")
        );
        assert_eq!(
            table.lookup("qwen", "qwen-max-0919"),
            table.lookup("qwen", "qwen-max")
        );
    }

    #[test]
    fn a_longer_name_is_not_its_prefix() {
        let mut table = PriceTable::empty();
        let base = Price::new(2.5, 1.25, 10.0);
        table.insert("openai", "gpt-4o", base);
        // Never the base model's price for a different model.
        for other in [
            "gpt-4o-mini",
            "gpt-4o-mini-2024-07-18",
            "gpt-4o-audio-preview",
            "gpt-4o-2024",
            "gpt-4o-2024-08",
            "gpt-4o-2024-13-01",
            "gpt-4o-20241301",
            "gpt-4o-1234",
            "gpt-4o-aé1",
            "gpt-4o-é-01-01",
            "gpt-4o-24-08-06",
            "gpt-4o-",
            "gpt-4",
            "gpt-4obeta-2024-08-06",
        ] {
            assert_eq!(table.lookup("openai", other), None, "{other}");
        }
        assert_eq!(table.lookup("openai", "gpt-4o-0513"), Some(base));
    }

    #[test]
    fn unknown_models_and_providers_have_no_price() {
        let table = PriceTable::builtin();
        assert_eq!(table.lookup("openai", "gpt-9"), None);
        assert_eq!(table.cost("openai", "gpt-9", 10, 0, 10), None);
        // A price belongs to its provider: same name, other provider, none.
        assert_eq!(table.lookup("my-vllm", "gpt-4o"), None);
        assert_eq!(
            table.lookup("gemini", "gemini-2.5-flash-preview-05-20"),
            None
        );
    }

    #[test]
    fn an_override_replaces_the_built_in_price_and_its_snapshots() {
        let mut table = PriceTable::builtin();
        let new = Price {
            input: 1.0,
            cached_input: None,
            output: 4.0,
        };
        table.insert("openai", "gpt-4o", new);
        assert_eq!(table.lookup("openai", "gpt-4o"), Some(new));
        assert_eq!(table.lookup("openai", "gpt-4o-2024-08-06"), Some(new));
        // A snapshot can still have a price of its own.
        let old = Price::new(5.0, 2.5, 15.0);
        table.insert("openai", "gpt-4o-2024-05-13", old);
        assert_eq!(table.lookup("openai", "gpt-4o-2024-05-13"), Some(old));
        assert!(
            table
                .entries()
                .any(|(p, m, _)| (p, m) == ("openai", "gpt-4o"))
        );
    }
}
