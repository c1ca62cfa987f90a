//! Where one provider's settings come from, and the checks on each value:
//! the environment (`NAME_BASE_URL`, `NAME_API_KEY`, `LLM_BRIDGE_PROXY`),
//! its `[providers.NAME]` section, the file's top level and its built-in
//! entry. The provider table as a whole (which providers exist, their names,
//! aliases) is [`super`]'s.

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;

use super::{ProviderConfig, ProviderKind, env_prefix, locate};
use crate::config::builtin::BuiltinProvider;
use crate::config::file::{LoadedFile, ProviderSection};
use crate::config::{ConfigError, Env, Secret, resilience, secret};

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

pub(super) fn build(
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
    // user sees: kind, base URL, headers, proxy, then the resilience
    // settings.
    let kind = sources.kind()?;
    let base_url = sources.base_url(kind)?;
    let key_vars = sources.key_variables();
    let api_keys = sources.api_keys(&key_vars);
    let headers = sources.headers()?;
    let proxy = sources.proxy()?;
    let resilience = resilience::resolve_provider(name, sources.raw(), file)?;
    Ok(ProviderConfig {
        name: name.to_string(),
        kind,
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
        responses_api: sources.responses_api(),
        default_max_tokens: sources.default_max_tokens()?,
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

    /// The section's `kind`, else the built-in's, else `openai`.
    fn kind(&self) -> Result<ProviderKind, ConfigError> {
        let Some(written) = self.raw().and_then(|s| s.kind.as_ref()) else {
            return Ok(self.builtin.map_or(ProviderKind::OpenAi, |b| b.kind));
        };
        ProviderKind::from_name(written.get_ref()).ok_or_else(|| ConfigError::Invalid {
            location: locate(self.file, written, &self.field("kind")),
            message: format!(
                "`{}` is not a provider kind: write \"openai\", \"anthropic\" or \"gemini\"",
                written.get_ref()
            ),
        })
    }

    /// The section's `responses_api`, else the built-in's, else off.
    fn responses_api(&self) -> bool {
        self.raw()
            .and_then(|s| s.responses_api)
            .unwrap_or_else(|| self.builtin.is_some_and(|b| b.responses_api))
    }

    /// The section's `default_max_tokens` (above 0), else the default.
    fn default_max_tokens(&self) -> Result<u32, ConfigError> {
        match self.raw().and_then(|s| s.default_max_tokens.as_ref()) {
            Some(n) if *n.get_ref() == 0 => Err(ConfigError::Invalid {
                location: locate(self.file, n, &self.field("default_max_tokens")),
                message: "must be greater than 0".into(),
            }),
            Some(n) => Ok(*n.get_ref()),
            None => Ok(super::DEFAULT_MAX_TOKENS),
        }
    }

    /// `NAME_BASE_URL`, else the section's `base_url`, else the built-in one
    /// (for `kind`: the built-in Gemini's native API has its own); a
    /// provider new in the file must give one.
    fn base_url(&self, kind: ProviderKind) -> Result<Url, ConfigError> {
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
            (None, None, Some(b)) => {
                let url = match (kind, b.native_base_url) {
                    (ProviderKind::Gemini, Some(native)) => native,
                    _ => b.base_url,
                };
                parse_base_url(url, || format!("built-in {name}"))
            }
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
    let text = secret::displayable_url(raw);
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
