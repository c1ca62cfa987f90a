//! Provider settings: the built-in table, changed or extended by the config
//! file's `[providers.NAME]` sections and by `NAME_API_KEY` / `NAME_BASE_URL`.
//!
//! This module owns the table: which providers exist, their names, and the
//! `provider/model` targets aliases point to. How one provider's fields are
//! read and checked is [`sources`]'s; its timeouts and retries are
//! [`super::resilience`]'s.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;

use super::builtin::BUILTIN_PROVIDERS;
use super::file::{LoadedFile, ProviderSection};
use super::resilience::{ConcurrencyLimit, RetryPolicy, Timeouts};
use super::{ConfigError, Env, Secret};

mod sources;

use sources::build;

/// Which API a provider speaks (its adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI chat completions, and every server compatible with it.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Gemini's native `generateContent` API.
    Gemini,
}

impl ProviderKind {
    /// The name the config file uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }

    /// The kind a config file names.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::OpenAi, Self::Anthropic, Self::Gemini]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// `max_tokens` sent to an Anthropic upstream when the client gave none:
/// Anthropic requires one, and 4096 covers most answers without letting a
/// runaway one cost much.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// One upstream, validated.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    /// The API it speaks.
    pub kind: ProviderKind,
    /// OpenAI-compatible base URL without a trailing slash.
    pub base_url: Url,
    /// Its keys: `NAME_API_KEY` may list several, comma-separated; requests
    /// take turns over them.
    pub api_keys: Vec<Secret>,
    /// The variable its key is read from first (`api_key_env`, else
    /// `NAME_API_KEY`), for advice when it has none.
    pub key_variable: String,
    /// Extra headers sent upstream; values are marked sensitive so they never
    /// print.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `http://`, `https://`, `socks5://` or `socks5h://` proxy URL.
    pub proxy: Option<Secret>,
    /// Upstream model names listed by `/v1/models`.
    pub models: Vec<String>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub concurrency: Option<ConcurrencyLimit>,
    /// How long a key that got 401 or 429 is passed over.
    pub key_cooldown: Duration,
    /// Whether streamed requests may ask it for usage
    /// (`stream_options.include_usage`) when the client did not.
    pub stream_usage: bool,
    /// Whether the config file has a section for it (so it is listed by
    /// `/v1/models` even without a key, e.g. a local Ollama).
    pub declared: bool,
    /// Whether it serves OpenAI's Responses API itself (then Responses
    /// requests go to it untranslated).
    pub responses_api: bool,
    /// `max_tokens` for an Anthropic upstream when the client gave none.
    pub default_max_tokens: u32,
}

/// Where a model name leads: a provider and the model name sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelTarget {
    pub provider: String,
    pub model: String,
}

/// `deepseek` → `DEEPSEEK`, `my-vllm` → `MY_VLLM`.
pub fn env_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The built-in providers, then the config file's new ones.
pub fn resolve(env: &Env, file: Option<&LoadedFile>) -> Result<Vec<ProviderConfig>, ConfigError> {
    let sections = file.map(|f| &f.config.providers);
    let mut providers = Vec::new();
    for builtin in BUILTIN_PROVIDERS {
        let section = sections.and_then(|s| s.get(builtin.name));
        providers.push(build(builtin.name, Some(builtin), section, env, file)?);
    }
    for (name, section) in sections.into_iter().flatten() {
        if BUILTIN_PROVIDERS.iter().any(|b| b.name == name) {
            continue;
        }
        check_name(name, section, file)?;
        providers.push(build(name, None, Some(section), env, file)?);
    }
    Ok(providers)
}

fn check_name(
    name: &str,
    section: &Spanned<ProviderSection>,
    file: Option<&LoadedFile>,
) -> Result<(), ConfigError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        location: locate(file, section, &format!("providers.{name}")),
        message: "a provider name may hold only letters, digits, `-`, `_` and `.`".into(),
    })
}

/// `file:line: field` for a value, or just the field without a file.
pub(super) fn locate<T>(file: Option<&LoadedFile>, value: &Spanned<T>, field: &str) -> String {
    file.map_or_else(|| field.to_string(), |f| f.locate(value, field))
}

/// Fails unless `name` is a configured provider.
pub fn check_known(
    providers: &[ProviderConfig],
    name: &str,
    location: impl Fn() -> String,
) -> Result<(), ConfigError> {
    if providers.iter().any(|p| p.name == name) {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        location: location(),
        message: format!("no provider named `{name}` (known: {})", names(providers)),
    })
}

fn names(providers: &[ProviderConfig]) -> String {
    providers
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[aliases]`: each value must be `provider/model` with a known provider.
pub fn resolve_aliases(
    providers: &[ProviderConfig],
    file: Option<&LoadedFile>,
) -> Result<BTreeMap<String, ModelTarget>, ConfigError> {
    let Some(loaded) = file else {
        return Ok(BTreeMap::new());
    };
    let mut aliases = BTreeMap::new();
    for (alias, target) in &loaded.config.aliases {
        let location = || loaded.locate(target, &format!("aliases.{alias}"));
        let Some(parsed) = parse_target(target.get_ref()) else {
            return Err(ConfigError::Invalid {
                location: location(),
                message: format!("`{}` must be written as provider/model", target.get_ref()),
            });
        };
        check_known(providers, &parsed.provider, location)?;
        aliases.insert(alias.clone(), parsed);
    }
    Ok(aliases)
}

/// `provider/model`, both parts non-empty.
pub fn parse_target(text: &str) -> Option<ModelTarget> {
    let (provider, model) = text
        .split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())?;
    Some(ModelTarget {
        provider: provider.to_string(),
        model: model.to_string(),
    })
}
