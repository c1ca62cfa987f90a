//! What a configuration reload replaces, built whole from one [`Config`]:
//! the providers and their keys, the access keys, the guards, the rate
//! limits, the model list, the prices. A request takes the pieces it needs
//! through [`Current`] handles and keeps them to its end, so a reload never
//! changes a request in flight.

use std::sync::{Arc, PoisonError, RwLock};

use crate::admin::health::HealthView;
use crate::admin::status::StatusView;
use crate::api::models::ModelList;
use crate::budgets::Budgets;
use crate::config::Config;
use crate::config::live::Current;
use crate::edge::auth::AccessKeys;
use crate::edge::guard::Guards;
use crate::limits::RateLimits;
use crate::limits::shared::SharedRpm;
use crate::pipeline::Routing;
use crate::prices::PriceTable;
use crate::upstream::Registry;
use crate::upstream::redact::Redactor;

/// One configuration and everything built from it.
#[derive(Debug)]
pub struct LiveConfig {
    pub config: Config,
    pub access_keys: Arc<AccessKeys>,
    pub guards: Arc<Guards>,
    pub routing: Arc<Routing>,
    pub models: Arc<ModelList>,
    pub health: Arc<HealthView>,
    pub status: Arc<StatusView>,
    pub prices: Arc<PriceTable>,
}

impl LiveConfig {
    /// Builds providers (one HTTP client each) and the derived data.
    pub fn build(
        config: Config,
        limits: Arc<RateLimits>,
        budgets: Arc<Budgets>,
        shared_rpm: Option<Arc<SharedRpm>>,
    ) -> Result<Self, reqwest::Error> {
        let registry = Arc::new(Registry::from_config(&config)?);
        let access_keys = AccessKeys::new(&config.access_keys);
        let keyed = access_keys.required();
        let redactor = Redactor::new(
            config
                .providers
                .iter()
                .flat_map(|p| p.api_keys.iter().map(|k| k.expose())),
        );
        let status = StatusView {
            registry: Arc::clone(&registry),
            limits: Arc::clone(&limits),
            budgets: Arc::clone(&budgets),
            access_keys: config
                .access_keys
                .iter()
                .map(|key| (key.id(), key.admin))
                .collect(),
            effective: effective(&config),
        };
        let routing = Routing {
            registry: Arc::clone(&registry),
            limits,
            limit_settings: config.limits.clone(),
            redactor,
            budgets: Arc::clone(&budgets),
            prices: Arc::new(config.prices.clone()),
            shared_rpm,
        };
        Ok(Self {
            access_keys: Arc::new(access_keys),
            guards: Arc::new(Guards::new(
                keyed,
                &config.cors_origins,
                &config.allowed_hosts,
            )),
            models: Arc::new(ModelList::new(&registry, !keyed)),
            health: Arc::new(HealthView {
                registry,
                budgets,
                access_keys_required: keyed,
                default_provider: config.default_provider.clone(),
            }),
            status: Arc::new(status),
            prices: Arc::clone(&routing.prices),
            routing: Arc::new(routing),
            config,
        })
    }
}

/// The configuration as the dashboard shows it: `Debug`'s text, in which
/// keys and proxies print as `*****` and header values as `Sensitive`, with
/// base URLs shown without credentials and the price table left out (it is
/// long, and `/api/stats` shows what it priced).
fn effective(config: &Config) -> String {
    let mut shown = config.clone();
    shown.prices = PriceTable::empty();
    for provider in &mut shown.providers {
        let public = crate::config::secret::displayable_url(provider.base_url.as_str());
        if let Ok(url) = public.parse() {
            provider.base_url = url;
        }
    }
    format!("{shown:#?}")
}

/// The live configuration, swapped whole on reload.
#[derive(Debug, Clone)]
pub struct LiveConfigCell(Arc<RwLock<Arc<LiveConfig>>>);

impl LiveConfigCell {
    pub fn new(live: LiveConfig) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(live))))
    }

    /// The configuration now.
    pub fn now(&self) -> Arc<LiveConfig> {
        let live = self.0.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&live)
    }

    /// Replaces the configuration; requests in flight keep theirs.
    pub fn replace(&self, next: LiveConfig) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
    }

    /// A handle on one piece of the configuration.
    pub fn piece<T: ?Sized + Send + Sync + 'static>(
        &self,
        pick: fn(&LiveConfig) -> &Arc<T>,
    ) -> Current<T> {
        let cell = self.clone();
        Current::new(move || Arc::clone(pick(&cell.now())))
    }
}
