//! The price table's lookups and the cost arithmetic.

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
            cache_write: None,
            cache_write_1h: None,
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

fn usage(prompt: u64, cached: u64, completion: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        cached_tokens: cached,
        completion_tokens: completion,
        ..Usage::default()
    }
}

fn cost(table: &PriceTable, provider: &str, model: &str, usage: &Usage) -> Cost {
    table.cost(provider, model, usage).unwrap()
}

#[test]
fn cost_charges_cached_prompt_tokens_at_the_cached_price() {
    let table = PriceTable::builtin();
    // gpt-4.1: 1000 uncached × $2 + 1000 cached × $0.50 + 500 × $8, per 1M.
    let charged = cost(&table, "openai", "gpt-4.1", &usage(2000, 1000, 500));
    assert!(close(charged.cost_usd, 0.0065), "{charged:?}");
    // The cached thousand would have cost $2 instead of $0.50 per 1M.
    assert!(
        close(charged.provider_cache_saved_usd, 0.0015),
        "{charged:?}"
    );
    let no_cache = cost(&table, "openai", "gpt-4.1", &usage(2000, 0, 500));
    assert!(close(no_cache.cost_usd, 0.008), "{no_cache:?}");
    assert_eq!(no_cache.provider_cache_saved_usd, 0.0);
    // More cached than prompt tokens: all of the prompt is cached.
    let clamped = cost(&table, "openai", "gpt-4.1", &usage(100, 500, 0));
    assert!(close(clamped.cost_usd, 0.00005), "{clamped:?}");
    assert!(
        close(clamped.provider_cache_saved_usd, 0.00015),
        "{clamped:?}"
    );
}

#[test]
fn anthropic_usage_with_reads_and_both_writes() {
    let table = PriceTable::builtin();
    // claude-sonnet-4-5 ($3 in, $15 out): a prompt of 10,000 tokens of
    // which 6,000 cached reads, 2,000 5-minute writes and 1,000 1-hour
    // writes, so 1,000 uncached.
    let usage = Usage {
        prompt_tokens: 10_000,
        completion_tokens: 1_000,
        cached_tokens: 6_000,
        cache_write_tokens: 2_000,
        cache_write_1h_tokens: 1_000,
        reasoning_tokens: 400,
    };
    let charged = cost(&table, "anthropic", "claude-sonnet-4-5", &usage);
    // 1000×3 + 6000×0.30 + 2000×3.75 + 1000×6 + 1000×15 = 33,300 µ$.
    assert!(close(charged.cost_usd, 0.0333), "{charged:?}");
    // 6000 × (3 − 0.30) = 16,200 µ$.
    assert!(
        close(charged.provider_cache_saved_usd, 0.0162),
        "{charged:?}"
    );

    // Writes past the prompt are cut to what is left after the reads.
    let over = Usage {
        prompt_tokens: 1_000,
        cached_tokens: 600,
        cache_write_tokens: 300,
        cache_write_1h_tokens: 5_000,
        ..Usage::default()
    };
    let charged = cost(&table, "anthropic", "claude-sonnet-4-5", &over);
    // 600×0.30 + 300×3.75 + 100×6 = 1,905 µ$; nothing uncached.
    assert!(close(charged.cost_usd, 0.001905), "{charged:?}");
}

#[test]
fn openai_writes_cost_the_input_price() {
    let table = PriceTable::builtin();
    let usage = Usage {
        prompt_tokens: 4_000,
        cached_tokens: 1_000,
        cache_write_tokens: 1_000,
        cache_write_1h_tokens: 1_000,
        ..Usage::default()
    };
    // gpt-4o: 1000 uncached and 2000 written at $2.50, 1000 cached at $1.25.
    let charged = cost(&table, "openai", "gpt-4o", &usage);
    assert!(close(charged.cost_usd, 0.00875), "{charged:?}");
    assert!(
        close(charged.provider_cache_saved_usd, 0.00125),
        "{charged:?}"
    );
}

#[test]
fn write_prices_default_in_order() {
    let plain = Price {
        input: 1.0,
        cached_input: None,
        cache_write: None,
        cache_write_1h: None,
        output: 2.0,
    };
    assert_eq!(plain.cached_input_price(), 1.0);
    assert_eq!(plain.cache_write_price(), 1.0);
    assert_eq!(plain.cache_write_1h_price(), 1.0);
    let five_minutes = Price {
        cache_write: Some(1.5),
        ..plain
    };
    assert_eq!(five_minutes.cache_write_1h_price(), 1.5);
    let both = Price {
        cache_write_1h: Some(3.0),
        ..five_minutes
    };
    assert_eq!(
        (both.cache_write_price(), both.cache_write_1h_price()),
        (1.5, 3.0)
    );
}

#[test]
fn built_in_anthropic_multipliers() {
    let table = PriceTable::builtin();
    for model in ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"] {
        let price = table.lookup("anthropic", model).unwrap();
        let ratio = |value: f64| value / price.input;
        assert!(close(ratio(price.cached_input_price()), 0.1), "{model}");
        assert!(close(ratio(price.cache_write_price()), 1.25), "{model}");
        assert!(close(ratio(price.cache_write_1h_price()), 2.0), "{model}");
    }
    for (provider, model) in [("openai", "gpt-4o"), ("deepseek", "deepseek-chat")] {
        let price = table.lookup(provider, model).unwrap();
        assert_eq!((price.cache_write, price.cache_write_1h), (None, None));
    }
}

#[test]
fn without_a_cached_price_cached_tokens_cost_the_full_input_price() {
    let mut table = PriceTable::empty();
    let price = Price {
        input: 1.0,
        cached_input: None,
        cache_write: None,
        cache_write_1h: None,
        output: 2.0,
    };
    table.insert("local", "m", price);
    let charged = cost(&table, "local", "m", &usage(1_000_000, 600_000, 1_000_000));
    assert!(close(charged.cost_usd, 3.0));
    assert_eq!(charged.provider_cache_saved_usd, 0.0);
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
    assert_eq!(table.cost("openai", "gpt-9", &usage(10, 0, 10)), None);
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
        cache_write: None,
        cache_write_1h: None,
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
