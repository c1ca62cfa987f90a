//! `[budgets]`: how many US dollars a day and a month the gateway, and each
//! access key, may spend with providers.
//!
//! ```toml
//! [budgets]                # the whole gateway, every caller together
//! daily_usd = 100
//! monthly_usd = 2000
//! key_daily_usd = 10       # every access key without its own entry
//! [budgets.keys.alice]     # by access-key name: replaces key_daily_usd/key_monthly_usd
//! daily_usd = 5
//! monthly_usd = 50
//! ```
//!
//! Days and months are UTC calendar days and months. A budget is a positive
//! number; leaving it out means no budget.
//!
//! Per-key budgets can also come from the environment (or `.env`, so that
//! `llm-bridge keys set` and the dashboard's key form set them and a live
//! reload applies them): `LLM_BRIDGE_BUDGETS=alice=5/50,bob=/20,*=10/`,
//! each `NAME=DAILY/MONTHLY` in USD with either side left empty for none,
//! `*` for every key without its own. These replace the file's entries for
//! the same names.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::file::LoadedFile;
use super::{AccessKey, ConfigError, Env};

/// The variable with per-key budgets.
pub const BUDGETS_VAR: &str = "LLM_BRIDGE_BUDGETS";

/// Spend allowed in a UTC day and a UTC month, USD; `None` for no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    pub daily_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
}

impl Budget {
    /// Neither a daily nor a monthly budget.
    pub fn is_unlimited(&self) -> bool {
        self.daily_usd.is_none() && self.monthly_usd.is_none()
    }
}

/// Validated budgets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetsConfig {
    /// Every caller's spend together.
    pub gateway: Budget,
    /// For every access key without its own entry.
    pub default_key: Budget,
    /// By access-key id.
    pub per_key: HashMap<String, Budget>,
}

impl BudgetsConfig {
    /// No budget anywhere: the request path skips budgets entirely.
    pub fn is_empty(&self) -> bool {
        self.gateway.is_unlimited()
            && self.default_key.is_unlimited()
            && self.per_key.values().all(Budget::is_unlimited)
    }

    /// The budget of the caller `id`.
    pub fn for_key(&self, id: &str) -> Budget {
        self.per_key.get(id).copied().unwrap_or(self.default_key)
    }
}

/// `[budgets]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsSection {
    pub daily_usd: Option<Spanned<f64>>,
    pub monthly_usd: Option<Spanned<f64>>,
    pub key_daily_usd: Option<Spanned<f64>>,
    pub key_monthly_usd: Option<Spanned<f64>>,
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<KeyBudgetSection>>,
}

/// `[budgets.keys.NAME]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBudgetSection {
    pub daily_usd: Option<Spanned<f64>>,
    pub monthly_usd: Option<Spanned<f64>>,
}

/// The budgets of the config file `config` names (or `llm-bridge.toml`
/// when present), for `llm-bridge stats`: its keys are not checked against
/// `ACCESS_API_KEYS`, which the command does not read.
pub fn read(config: Option<&std::path::Path>) -> Result<BudgetsConfig, ConfigError> {
    let mut budgets = resolve_checked(super::load_file(config)?.as_ref(), None)?;
    from_env(&Env::from_process(), None, &mut budgets)?;
    Ok(budgets)
}

/// Validates `[budgets]`; a key section must name a configured access key,
/// so a typo does not leave a key without its budget.
pub fn resolve(
    env: &Env,
    file: Option<&LoadedFile>,
    access_keys: &[AccessKey],
) -> Result<BudgetsConfig, ConfigError> {
    let mut budgets = resolve_checked(file, Some(access_keys))?;
    from_env(env, Some(access_keys), &mut budgets)?;
    Ok(budgets)
}

/// `LLM_BRIDGE_BUDGETS` over the file's per-key budgets.
fn from_env(
    env: &Env,
    access_keys: Option<&[AccessKey]>,
    budgets: &mut BudgetsConfig,
) -> Result<(), ConfigError> {
    let Some(text) = env.get(BUDGETS_VAR) else {
        return Ok(());
    };
    let invalid = |message: String| ConfigError::Invalid {
        location: BUDGETS_VAR.to_string(),
        message,
    };
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, amounts) = entry
            .split_once('=')
            .ok_or_else(|| invalid(format!("`{entry}` is not NAME=DAILY/MONTHLY")))?;
        let name = name.trim();
        let known = access_keys.is_none_or(|keys| keys.iter().any(|k| k.id() == name));
        if name != "*" && !known {
            return Err(invalid(format!(
                "no access key is named `{name}`: name keys in ACCESS_API_KEYS as name:key"
            )));
        }
        let (daily, monthly) = amounts.split_once('/').unwrap_or((amounts, ""));
        let amount = |text: &str| -> Result<Option<f64>, ConfigError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<f64>() {
                Ok(usd) if usd.is_finite() && usd > 0.0 => Ok(Some(usd)),
                _ => Err(invalid(format!(
                    "`{text}` in `{entry}` is not a number of US dollars greater than 0"
                ))),
            }
        };
        let budget = Budget {
            daily_usd: amount(daily)?,
            monthly_usd: amount(monthly)?,
        };
        match name {
            "*" => budgets.default_key = budget,
            _ => {
                budgets.per_key.insert(name.to_string(), budget);
            }
        }
    }
    Ok(())
}

fn resolve_checked(
    file: Option<&LoadedFile>,
    access_keys: Option<&[AccessKey]>,
) -> Result<BudgetsConfig, ConfigError> {
    let Some(loaded) = file else {
        return Ok(BudgetsConfig::default());
    };
    let section = &loaded.config.budgets;
    let gateway = budget(
        loaded,
        &section.daily_usd,
        &section.monthly_usd,
        "budgets",
        "",
    )?;
    let default_key = budget(
        loaded,
        &section.key_daily_usd,
        &section.key_monthly_usd,
        "budgets",
        "key_",
    )?;
    let known: Option<Vec<String>> =
        access_keys.map(|keys| keys.iter().map(AccessKey::id).collect());
    let mut per_key = HashMap::new();
    for (name, key) in &section.keys {
        let path = format!("budgets.keys.{name}");
        if known.as_ref().is_some_and(|known| !known.contains(name)) {
            return Err(ConfigError::Invalid {
                location: loaded.locate(key, &path),
                message: format!(
                    "no access key is named `{name}`: name keys in ACCESS_API_KEYS as name:key"
                ),
            });
        }
        let key = key.get_ref();
        per_key.insert(
            name.clone(),
            budget(loaded, &key.daily_usd, &key.monthly_usd, &path, "")?,
        );
    }
    Ok(BudgetsConfig {
        gateway,
        default_key,
        per_key,
    })
}

fn budget(
    loaded: &LoadedFile,
    daily: &Option<Spanned<f64>>,
    monthly: &Option<Spanned<f64>>,
    path: &str,
    prefix: &str,
) -> Result<Budget, ConfigError> {
    let amount = |value: &Option<Spanned<f64>>, field: &str| match value {
        None => Ok(None),
        Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 => Ok(Some(*v.get_ref())),
        Some(v) => Err(ConfigError::Invalid {
            location: loaded.locate_span(v.span(), &format!("{path}.{prefix}{field}")),
            message: "must be a number of US dollars greater than 0 (leave it out for no budget)"
                .into(),
        }),
    };
    Ok(Budget {
        daily_usd: amount(daily, "daily_usd")?,
        monthly_usd: amount(monthly, "monthly_usd")?,
    })
}
