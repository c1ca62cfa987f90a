//! Model-name routing.
//!
//! Order, first match wins:
//! 1. `provider/model` where `provider` is a configured provider: the rest,
//!    unchanged, is the upstream model (`openrouter/anthropic/claude-3.5-sonnet`
//!    sends `anthropic/claude-3.5-sonnet` to OpenRouter).
//! 2. An alias from the config file.
//! 3. A built-in bare-name prefix (`gpt-` → openai, `deepseek-` → deepseek, …).
//! 4. The configured default provider, with the name unchanged.
//!
//! Otherwise the request fails with `model_not_found`. The model name only
//! ever selects among configured providers; it never becomes part of a URL.
//!
//! [`Registry::plan`] adds the model's fallbacks (`[fallbacks]`), looked up
//! by the name as the client wrote it, then as `provider/model`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Provider;
use crate::config::{BARE_NAME_PREFIXES, Config, ModelTarget};
use crate::error::AppError;

/// Where one request goes.
#[derive(Debug, Clone)]
pub struct Route {
    pub provider: Arc<Provider>,
    /// The model name sent upstream.
    pub upstream_model: String,
}

impl Route {
    /// `provider/model`, as `x-llm-bridge-model` shows it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider.name(), self.upstream_model)
    }
}

/// All providers, by name, plus the routing rules.
#[derive(Debug)]
pub struct Registry {
    providers: Vec<Arc<Provider>>,
    by_name: HashMap<String, Arc<Provider>>,
    aliases: BTreeMap<String, ModelTarget>,
    fallbacks: BTreeMap<String, Vec<ModelTarget>>,
    default_provider: Option<Arc<Provider>>,
}

impl Registry {
    /// Builds every provider of the configuration (and its HTTP client).
    pub fn from_config(config: &Config) -> Result<Self, reqwest::Error> {
        let providers = config
            .providers
            .iter()
            .map(|p| Provider::new(p).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let mut registry = Self::new(
            providers,
            config.aliases.clone(),
            config.default_provider.as_deref(),
        );
        registry.fallbacks = config.fallbacks.clone();
        Ok(registry)
    }

    /// A registry over the given providers.
    pub fn new(
        providers: Vec<Arc<Provider>>,
        aliases: BTreeMap<String, ModelTarget>,
        default_provider: Option<&str>,
    ) -> Self {
        let by_name: HashMap<_, _> = providers
            .iter()
            .map(|p| (p.name().to_string(), Arc::clone(p)))
            .collect();
        let default_provider = default_provider.and_then(|name| by_name.get(name).cloned());
        Self {
            providers,
            by_name,
            aliases,
            fallbacks: BTreeMap::new(),
            default_provider,
        }
    }

    /// All providers in configuration order.
    pub fn providers(&self) -> &[Arc<Provider>] {
        &self.providers
    }

    /// The configured fallbacks, by the model or provider they follow.
    pub fn fallbacks(&self) -> &BTreeMap<String, Vec<ModelTarget>> {
        &self.fallbacks
    }

    /// The configured aliases.
    pub fn aliases(&self) -> &BTreeMap<String, ModelTarget> {
        &self.aliases
    }

    /// The provider and upstream model for a client's model name.
    pub fn resolve(&self, model: &str) -> Result<Route, AppError> {
        if let Some((prefix, rest)) = model.split_once('/')
            && let Some(provider) = self.by_name.get(prefix)
        {
            if rest.is_empty() {
                return Err(AppError::ModelNotFound(format!(
                    "no model named after `{prefix}/`: write provider/model, e.g. {prefix}/{}",
                    provider.models().first().map_or("MODEL", String::as_str)
                )));
            }
            return Ok(self.route(provider, rest));
        }
        if let Some(target) = self.aliases.get(model)
            && let Some(provider) = self.by_name.get(&target.provider)
        {
            return Ok(self.route(provider, &target.model));
        }
        let by_prefix = BARE_NAME_PREFIXES
            .iter()
            .find(|(prefix, _)| model.starts_with(prefix))
            .and_then(|(_, name)| self.by_name.get(*name));
        if let Some(provider) = by_prefix.or(self.default_provider.as_ref()) {
            return Ok(self.route(provider, model));
        }
        Err(AppError::ModelNotFound(self.not_found_message(model)))
    }

    /// The route for `model`, then its fallbacks in order (those whose
    /// provider is not configured are left out).
    pub fn plan(&self, model: &str) -> Result<Vec<Route>, AppError> {
        let primary = self.resolve(model)?;
        let fallbacks = self
            .fallbacks
            .get(model)
            .or_else(|| self.fallbacks.get(&primary.label()))
            .into_iter()
            .flatten()
            .filter_map(|target| {
                let provider = self.by_name.get(&target.provider)?;
                Some(self.route(provider, &target.model))
            });
        let mut routes = vec![primary.clone()];
        routes.extend(fallbacks);
        Ok(routes)
    }

    fn route(&self, provider: &Arc<Provider>, model: &str) -> Route {
        Route {
            provider: Arc::clone(provider),
            upstream_model: model.to_string(),
        }
    }

    fn not_found_message(&self, model: &str) -> String {
        // Client-controlled text: shorten it so an error body stays small.
        let shown: String = model.chars().take(120).collect();
        let names: Vec<&str> = self.providers.iter().map(|p| p.name()).collect();
        let prefixes: Vec<&str> = BARE_NAME_PREFIXES.iter().map(|(p, _)| *p).collect();
        format!(
            "model `{shown}` matches no provider. Name it as provider/model (providers: {}), \
             use a bare name starting with {}, or add an alias or default_provider in the config file",
            names.join(", "),
            prefixes.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
