//! Provider settings: the built-in table, changed or extended by the config
//! file's `[providers.NAME]` sections and by `NAME_API_KEY` / `NAME_BASE_URL`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;

use super::builtin::{BUILTIN_PROVIDERS, BuiltinProvider};
use super::file::{LoadedFile, ProviderSection};
use super::resilience::{self, ConcurrencyLimit, RetryPolicy, Timeouts};
use super::{ConfigError, Env, Secret};

/// Which API a provider speaks (its adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI chat completions, and every server compatible with it.
    OpenAi,
}

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

/// Everything one provider's settings are read from: its built-in entry,
/// its `[providers.NAME]` section, the environment and the config file.
struct Sources<'a> {
    name: &'a str,
    /// `NAME_` in the environment variables, from [`env_prefix`].
    prefix: String,
    builtin: Option<&'a BuiltinProvider>,
    section: Option<&'a Spanned<ProviderSection>>,
    env: &'a Env,
    file: Option<&'a LoadedFile>,
}

fn build(
    name: &str,
    builtin: Option<&BuiltinProvider>,
    section: Option<&Spanned<ProviderSection>>,
    env: &Env,
    file: Option<&LoadedFile>,
) -> Result<ProviderConfig, ConfigError> {
    let sources = Sources {
        name,
        prefix: env_prefix(name),
        builtin,
        section,
        env,
        file,
    };
    // Only the first bad value is reported, so this order is part of what a
    // user sees: base URL, headers, proxy, then the resilience settings.
    let base_url = sources.base_url()?;
    let key_vars = sources.key_variables();
    let api_keys = sources.api_keys(&key_vars);
    let headers = sources.headers()?;
    let proxy = sources.proxy()?;
    let resilience = resilience::resolve_provider(name, sources.raw(), file)?;
    Ok(ProviderConfig {
        name: name.to_string(),
        kind: ProviderKind::OpenAi,
        base_url,
        api_keys,
        key_variable: key_vars.first().cloned().unwrap_or_default(),
        headers,
        proxy,
        models: sources.models(),
        timeouts: resilience.timeouts,
        retry: resilience.retry,
        concurrency: resilience.concurrency,
        key_cooldown: resilience.key_cooldown,
        stream_usage: sources.stream_usage(),
        declared: section.is_some(),
    })
}

impl Sources<'_> {
    /// The section as written, without its place in the file.
    fn raw(&self) -> Option<&ProviderSection> {
        self.section.map(Spanned::get_ref)
    }

    /// `providers.NAME.KEY`, as error locations name a field.
    fn field(&self, key: &str) -> String {
        format!("providers.{}.{key}", self.name)
    }

    /// `NAME_BASE_URL`, else the section's `base_url`, else the built-in one;
    /// a provider new in the file must give one.
    fn base_url(&self) -> Result<Url, ConfigError> {
        let (name, file) = (self.name, self.file);
        let var = format!("{}_BASE_URL", self.prefix);
        match (
            self.env.get(&var),
            self.raw().and_then(|s| s.base_url.as_ref()),
            self.builtin,
        ) {
            (Some(url), _, _) => parse_base_url(url, || format!("environment variable {var}")),
            (None, Some(url), _) => {
                parse_base_url(url.get_ref(), || locate(file, url, &self.field("base_url")))
            }
            (None, None, Some(b)) => parse_base_url(b.base_url, || format!("built-in {name}")),
            (None, None, None) => Err(ConfigError::Invalid {
                location: self.section.map_or(self.field("base_url"), |s| {
                    locate(file, s, &format!("providers.{name}"))
                }),
                message: format!("base_url is required (or set {var})"),
            }),
        }
    }

    /// The variables a key is looked for in, first match wins: the
    /// section's `api_key_env`, `NAME_API_KEY`, then the built-in's extras.
    fn key_variables(&self) -> Vec<String> {
        let mut key_vars: Vec<String> = Vec::new();
        if let Some(var) = self.raw().and_then(|s| s.api_key_env.as_ref()) {
            key_vars.push(var.get_ref().clone());
        }
        key_vars.push(format!("{}_API_KEY", self.prefix));
        key_vars.extend(
            self.builtin
                .into_iter()
                .flat_map(|b| b.extra_key_vars.iter().map(|v| v.to_string())),
        );
        key_vars
    }

    /// The keys of the first of `key_vars` that is set, split on commas.
    fn api_keys(&self, key_vars: &[String]) -> Vec<Secret> {
        key_vars
            .iter()
            .find_map(|var| self.env.get(var))
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The section's `headers`, checked and marked sensitive.
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
        match self.raw() {
            Some(s) => parse_headers(&s.headers, |key| {
                locate_opt(
                    self.file,
                    s.headers.get(key),
                    &self.field(&format!("headers.{key}")),
                )
            }),
            None => Ok(Vec::new()),
        }
    }

    /// The section's `proxy`, else `LLM_BRIDGE_PROXY`, else the file's
    /// top-level `proxy`.
    fn proxy(&self) -> Result<Option<Secret>, ConfigError> {
        let file = self.file;
        match (
            self.raw().and_then(|s| s.proxy.as_ref()),
            self.env.get("LLM_BRIDGE_PROXY"),
            file.and_then(|f| f.config.proxy.as_ref()),
        ) {
            (Some(p), _, _) => parse_proxy(p.get_ref(), || locate(file, p, &self.field("proxy"))),
            (None, Some(p), _) => parse_proxy(p, || "environment variable LLM_BRIDGE_PROXY".into()),
            (None, None, Some(p)) => parse_proxy(p.get_ref(), || locate(file, p, "proxy")),
            (None, None, None) => Ok(None),
        }
    }

    /// The section's `models`, else the built-in list.
    fn models(&self) -> Vec<String> {
        match (self.raw().and_then(|s| s.models.clone()), self.builtin) {
            (Some(models), _) => models,
            (None, Some(b)) => b.models.iter().map(|m| m.to_string()).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// The section's `stream_usage`, else the built-in's, else off.
    fn stream_usage(&self) -> bool {
        self.raw()
            .and_then(|s| s.stream_usage)
            .unwrap_or_else(|| self.builtin.is_some_and(|b| b.stream_usage))
    }
}

/// `file:line: field` for a value, or just the field without a file.
pub(super) fn locate<T>(file: Option<&LoadedFile>, value: &Spanned<T>, field: &str) -> String {
    file.map_or_else(|| field.to_string(), |f| f.locate(value, field))
}

fn locate_opt<T>(file: Option<&LoadedFile>, value: Option<&Spanned<T>>, field: &str) -> String {
    match value {
        Some(v) => locate(file, v, field),
        None => field.to_string(),
    }
}

fn parse_base_url(raw: &str, location: impl Fn() -> String) -> Result<Url, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        location: location(),
        message,
    };
    // Messages show the URL without its userinfo or query values: either
    // may hold a credential.
    let text = super::secret::displayable_url(raw);
    let mut url = Url::parse(raw.trim())
        .map_err(|e| invalid(format!("`{text}` is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(format!(
            "`{text}` must be an http:// or https:// URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "`{text}` must not have a query or fragment"
        )));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

fn parse_proxy(text: &str, location: impl Fn() -> String) -> Result<Option<Secret>, ConfigError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let scheme_ok = Url::parse(text)
        .map(|u| {
            matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") && u.host_str().is_some()
        })
        .unwrap_or(false);
    if !scheme_ok || reqwest::Proxy::all(text).is_err() {
        // The URL may hold a proxy password, so it is not repeated here.
        return Err(ConfigError::Invalid {
            location: location(),
            message: "proxy must be a URL like socks5://127.0.0.1:1080 or http://127.0.0.1:8080, or \"none\"".into(),
        });
    }
    Ok(Some(Secret::new(text)))
}

fn parse_headers(
    headers: &BTreeMap<String, Spanned<String>>,
    location: impl Fn(&str) -> String,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    headers
        .iter()
        .map(|(name, value)| {
            let invalid = |message: &str| ConfigError::Invalid {
                location: location(name),
                message: message.into(),
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid("not a valid header name"))?;
            let mut value = HeaderValue::from_str(value.get_ref())
                .map_err(|_| invalid("not a valid header value"))?;
            value.set_sensitive(true);
            Ok((name, value))
        })
        .collect()
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
