//! `[prices]`: token prices that replace or add to the built-in table.
//!
//! ```toml
//! [prices."openai/gpt-4o"]          # provider/model, as sent upstream
//! input = 2.5                       # USD per million prompt tokens
//! cached_input = 1.25               # optional; default: the input price
//! cache_write = 3.125               # optional, 5-minute cache writes; default: input
//! cache_write_1h = 5.0              # optional, 1-hour cache writes; default: cache_write
//! output = 10.0                     # USD per million completion tokens
//! ```
//!
//! Every figure must be a finite number, 0 or more. The write prices are
//! for providers that bill writing to their prompt cache apart (Anthropic);
//! leave them out where writes cost the input price.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::file::LoadedFile;
use super::providers::check_known;
use super::{ConfigError, ProviderConfig};
use crate::prices::{Price, PriceTable};

/// `[prices."provider/model"]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSection {
    pub input: Spanned<f64>,
    pub cached_input: Option<Spanned<f64>>,
    pub cache_write: Option<Spanned<f64>>,
    pub cache_write_1h: Option<Spanned<f64>>,
    pub output: Spanned<f64>,
}

/// The built-in table with the file's entries over it. Each key must be
/// `provider/model` with a known provider, so a typo in the provider is an
/// error rather than a price that never applies.
pub fn resolve(
    providers: &[ProviderConfig],
    file: Option<&LoadedFile>,
) -> Result<PriceTable, ConfigError> {
    let mut table = PriceTable::builtin();
    let Some(loaded) = file else {
        return Ok(table);
    };
    let sections: &BTreeMap<String, Spanned<PriceSection>> = &loaded.config.prices;
    for (key, section) in sections {
        let path = format!("prices.\"{key}\"");
        let location = || loaded.locate(section, &path);
        let (provider, model) = key
            .split_once('/')
            .filter(|(provider, model)| !provider.is_empty() && !model.is_empty())
            .ok_or_else(|| ConfigError::Invalid {
                location: location(),
                message: format!("`{key}` must be written as provider/model"),
            })?;
        check_known(providers, provider, location)?;
        let raw = section.get_ref();
        let amount = |value: &Spanned<f64>, field: &str| {
            let amount = *value.get_ref();
            if amount.is_finite() && amount >= 0.0 {
                Ok(amount)
            } else {
                Err(ConfigError::Invalid {
                    location: loaded.locate(value, &format!("{path}.{field}")),
                    message: format!(
                        "must be a number of USD per million tokens, 0 or more, not {amount}"
                    ),
                })
            }
        };
        let optional = |value: &Option<Spanned<f64>>, field: &str| {
            value.as_ref().map(|v| amount(v, field)).transpose()
        };
        let price = Price {
            input: amount(&raw.input, "input")?,
            cached_input: optional(&raw.cached_input, "cached_input")?,
            cache_write: optional(&raw.cache_write, "cache_write")?,
            cache_write_1h: optional(&raw.cache_write_1h, "cache_write_1h")?,
            output: amount(&raw.output, "output")?,
        };
        table.insert(provider, model, price);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Overrides;
    use crate::config::{Config, Env};

    fn resolve(text: &str) -> Result<Config, ConfigError> {
        let file = LoadedFile::parse(Path::new("llm-bridge.toml"), text.to_string())?;
        Config::from_parts(&Overrides::default(), &Env::default(), Some(file))
    }

    fn error(text: &str) -> String {
        resolve(text).unwrap_err().to_string()
    }

    #[test]
    fn without_a_file_the_built_in_table_applies() {
        let config = Config::from_parts(&Overrides::default(), &Env::default(), None).unwrap();
        assert_eq!(config.prices, PriceTable::builtin());
    }

    #[test]
    fn entries_replace_built_in_prices_and_add_models() {
        let text = r#"
[prices."openai/gpt-4o"]
input = 2
output = 8.5

[prices."openrouter/meta-llama/llama-3.3-70b-instruct"]
input = 0.1
cached_input = 0.05
output = 0.32
"#;
        let prices = resolve(text).unwrap().prices;
        assert_eq!(
            prices.lookup("openai", "gpt-4o"),
            Some(Price {
                input: 2.0,
                cached_input: None,
                cache_write: None,
                cache_write_1h: None,
                output: 8.5
            })
        );
        assert_eq!(
            prices.lookup("openrouter", "meta-llama/llama-3.3-70b-instruct"),
            Some(Price {
                input: 0.1,
                cached_input: Some(0.05),
                cache_write: None,
                cache_write_1h: None,
                output: 0.32
            })
        );
        // The rest of the built-in table stays.
        assert_eq!(
            prices.lookup("openai", "gpt-4o-mini"),
            PriceTable::builtin().lookup("openai", "gpt-4o-mini")
        );
    }

    #[test]
    fn entries_set_cache_write_prices() {
        let text = r#"
[prices."anthropic/claude-sonnet-4-5"]
input = 3
cached_input = 0.3
cache_write = 3.75
cache_write_1h = 6
output = 15

[prices."openai/gpt-4o"]
input = 2.5
cache_write = 2.5
output = 10
"#;
        let prices = resolve(text).unwrap().prices;
        let sonnet = prices.lookup("anthropic", "claude-sonnet-4-5").unwrap();
        assert_eq!(
            (sonnet.cache_write, sonnet.cache_write_1h),
            (Some(3.75), Some(6.0))
        );
        let gpt = prices.lookup("openai", "gpt-4o").unwrap();
        assert_eq!((gpt.cache_write, gpt.cache_write_1h), (Some(2.5), None));
        assert_eq!(gpt.cache_write_1h_price(), 2.5);
        let negative = "[prices.\"openai/gpt-4o\"]\ninput = 1\noutput = 2\ncache_write_1h = -1\n";
        assert_eq!(
            error(negative),
            "llm-bridge.toml:4: prices.\"openai/gpt-4o\".cache_write_1h: must be a number of \
             USD per million tokens, 0 or more, not -1"
        );
        let nan = "[prices.\"openai/gpt-4o\"]\ninput = 1\ncache_write = nan\noutput = 2\n";
        assert!(
            error(nan).starts_with("llm-bridge.toml:3: prices.\"openai/gpt-4o\".cache_write:"),
            "{}",
            error(nan)
        );
    }

    #[test]
    fn bad_entries_name_the_line_and_field() {
        let negative = "[prices.\"openai/gpt-4o\"]\ninput = 1\noutput = -2\n";
        assert_eq!(
            error(negative),
            "llm-bridge.toml:3: prices.\"openai/gpt-4o\".output: must be a number of USD \
             per million tokens, 0 or more, not -2"
        );
        let nan = "[prices.\"openai/gpt-4o\"]\ninput = 1\ncached_input = nan\noutput = 2\n";
        assert!(
            error(nan).starts_with("llm-bridge.toml:3: prices.\"openai/gpt-4o\".cached_input:"),
            "{}",
            error(nan)
        );
        let infinite = "[prices.\"openai/gpt-4o\"]\ninput = inf\noutput = 2\n";
        assert!(error(infinite).starts_with("llm-bridge.toml:2: prices.\"openai/gpt-4o\".input:"));

        let missing = "[prices.\"openai/gpt-4o\"]\ninput = 1\n";
        let message = error(missing);
        assert!(
            message.starts_with("llm-bridge.toml:") && message.contains("missing field `output`"),
            "{message}"
        );
        let unknown = "[prices.\"openai/gpt-4o\"]\ninput = 1\noutput = 2\ncached = 1\n";
        assert!(error(unknown).contains("unknown field `cached`"));

        let no_model = "[prices.gpt-4o]\ninput = 1\noutput = 2\n";
        assert_eq!(
            error(no_model),
            "llm-bridge.toml:1: prices.\"gpt-4o\": `gpt-4o` must be written as provider/model"
        );
        let typo = "[prices.\"opnai/gpt-4o\"]\ninput = 1\noutput = 2\n";
        assert!(
            error(typo).starts_with(
                "llm-bridge.toml:1: prices.\"opnai/gpt-4o\": no provider named `opnai`"
            ),
            "{}",
            error(typo)
        );
    }
}
