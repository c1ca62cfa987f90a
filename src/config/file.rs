//! The config file as written: raw TOML, before any validation.
//!
//! Unknown keys are rejected so a typo is a start-up error, not a silently
//! ignored setting. Values that need checking beyond their type keep their
//! position ([`Spanned`]) so the error can name the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<Spanned<String>>,
    pub cache_dir: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub default_provider: Option<Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
    /// The older place of `[server] max_body_bytes`, still read.
    pub max_body_bytes: Option<Spanned<usize>>,
    pub connect_timeout_secs: Option<Spanned<u64>>,
    pub first_byte_timeout_secs: Option<Spanned<u64>>,
    pub idle_timeout_secs: Option<Spanned<u64>>,
    pub total_timeout_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub retry: super::resilience::RetrySection,
    /// Model → models tried in order when it fails.
    #[serde(default)]
    pub fallbacks: BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    pub limits: super::limits::LimitsSection,
    #[serde(default)]
    pub budgets: super::budgets::BudgetsSection,
    #[serde(default)]
    pub redis: super::redis::RedisSection,
    #[serde(default)]
    pub cors_origins: Vec<String>,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub cache: super::cache::CacheSection,
    #[serde(default)]
    pub server: super::server::ServerSection,
    #[serde(default)]
    pub stats: super::stats::StatsSection,
    #[serde(default)]
    pub aliases: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub providers: BTreeMap<String, Spanned<ProviderSection>>,
    /// `provider/model` → token prices over the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, Spanned<super::prices::PriceSection>>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub max_file_bytes: Option<Spanned<u64>>,
    pub max_files: Option<Spanned<usize>>,
    pub log_bodies: Option<bool>,
}

/// `[providers.NAME]`: a new OpenAI-compatible provider, or changes to a
/// built-in one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// `openai` (default), `anthropic` or `gemini`: which API it speaks.
    pub kind: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    pub api_key_env: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
    pub models: Option<Vec<String>>,
    pub connect_timeout_secs: Option<Spanned<u64>>,
    pub first_byte_timeout_secs: Option<Spanned<u64>>,
    pub idle_timeout_secs: Option<Spanned<u64>>,
    pub total_timeout_secs: Option<Spanned<u64>>,
    pub retry: Option<super::resilience::RetrySection>,
    /// Cap on concurrent upstream requests to this provider.
    pub max_concurrent: Option<Spanned<usize>>,
    pub max_queued: Option<usize>,
    pub key_cooldown_secs: Option<Spanned<u64>>,
    /// Whether it accepts `stream_options.include_usage`.
    pub stream_usage: Option<bool>,
    /// Whether it serves OpenAI's Responses API (`/responses`) itself.
    pub responses_api: Option<bool>,
    /// `max_tokens` sent to an Anthropic upstream when the client gave none.
    pub default_max_tokens: Option<Spanned<u32>>,
}

/// A parsed config file with what is needed to point at its lines.
pub struct LoadedFile {
    pub path: PathBuf,
    text: String,
    pub config: FileConfig,
}

impl LoadedFile {
    /// Reads and parses `path`. Parse errors name the file, line and field.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, text)
    }

    /// Parses `text` as the content of `path`. Errors name the line and,
    /// past the TOML syntax, the field's dotted path.
    pub fn parse(path: &Path, text: String) -> Result<Self, ConfigError> {
        let invalid = |error: &toml::de::Error, field: String| {
            let line = error
                .span()
                .map(|span| line_of(&text, span.start))
                .unwrap_or(1);
            let message = super::file_error::describe(&field, error.message());
            let location = match field.is_empty() {
                true => format!("{}:{line}", path.display()),
                false => format!("{}:{line}: {field}", path.display()),
            };
            ConfigError::Invalid { location, message }
        };
        let document = toml::Deserializer::parse(&text).map_err(|e| invalid(&e, String::new()))?;
        let config = serde_path_to_error::deserialize(document).map_err(|error| {
            let field = super::file_error::field(error.path(), error.inner().message());
            invalid(error.inner(), field)
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
            config,
        })
    }

    /// `file:line: field` for a value, for error messages.
    pub fn locate<T>(&self, value: &Spanned<T>, field: &str) -> String {
        self.locate_span(value.span(), field)
    }

    /// The line a value starts on.
    pub fn line<T>(&self, value: &Spanned<T>) -> usize {
        line_of(&self.text, value.span().start)
    }

    /// `file:line: field` for a span of the file.
    pub fn locate_span(&self, span: std::ops::Range<usize>, field: &str) -> String {
        let line = line_of(&self.text, span.start);
        format!("{}:{line}: {field}", self.path.display())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
