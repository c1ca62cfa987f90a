//! `[stats]` settings, and the data folder the usage database lives in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::file::LoadedFile;

/// Data folder when none is set: `data` in the working directory, next to
/// `llm_cache` and `logs`.
pub const DEFAULT_DATA_DIR: &str = "data";
/// Days usage rows are kept: a quarter, enough to compare this month with
/// the last two, while the file stays tens of MB at a few thousand requests
/// a day.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

/// The variable naming a PostgreSQL database for the usage ledger.
pub const URL_VAR: &str = "LLM_BRIDGE_STATS_URL";
/// The variable naming this instance in the ledger.
pub const INSTANCE_VAR: &str = "LLM_BRIDGE_INSTANCE";

/// `[stats]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSection {
    pub retention_days: Option<Spanned<u64>>,
    /// `postgres://…`: one ledger for every instance.
    pub url: Option<Spanned<String>>,
    /// This instance's name in the ledger.
    pub instance: Option<String>,
}

/// Validated statistics settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsConfig {
    /// Rows older than this are deleted.
    pub retention: Duration,
    /// The PostgreSQL database every instance writes to, instead of
    /// `usage.sqlite3` in the data folder.
    pub url: Option<super::Secret>,
    /// This instance's name in the `instance` column: `[stats] instance`,
    /// `LLM_BRIDGE_INSTANCE`, else the host's name.
    pub instance: String,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            retention: days(DEFAULT_RETENTION_DAYS),
            url: None,
            instance: host_name(),
        }
    }
}

/// The machine's name (`HOSTNAME`, `/etc/hostname`), else `llm-bridge`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "llm-bridge".into())
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(86_400))
}

/// Builds the settings from the file's `[stats]` and the environment.
#[cfg(test)]
pub fn resolve(file: Option<&LoadedFile>) -> Result<StatsConfig, ConfigError> {
    resolve_with(
        &super::Env::from_pairs(Vec::<(String, String)>::new()),
        file,
    )
}

/// [`resolve`] with the variables of `env` over the file.
pub fn resolve_with(
    env: &super::Env,
    file: Option<&LoadedFile>,
) -> Result<StatsConfig, ConfigError> {
    let empty = StatsSection::default();
    let raw = file.map_or(&empty, |f| &f.config.stats);
    let retention = super::positive(&raw.retention_days, "stats.retention_days", file)?
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    let url = match (env.get(URL_VAR), &raw.url) {
        (Some(url), _) => Some((url.to_string(), URL_VAR.to_string())),
        (None, Some(url)) => Some((
            url.get_ref().trim().to_string(),
            file.map_or_else(|| "stats.url".into(), |f| f.locate(url, "stats.url")),
        )),
        (None, None) => None,
    };
    let url = match url {
        Some((url, _)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(super::Secret::new(url))
        }
        Some((_, location)) => {
            return Err(ConfigError::Invalid {
                location,
                message: "use a postgres://user:password@host:5432/database URL".into(),
            });
        }
        None => None,
    };
    let instance = env
        .get(INSTANCE_VAR)
        .map(str::to_string)
        .or_else(|| raw.instance.clone())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(host_name);
    Ok(StatsConfig {
        retention: days(retention),
        url,
        instance,
    })
}

/// The PostgreSQL ledger for `llm-bridge stats`, when
/// `LLM_BRIDGE_STATS_URL` or the config file's `[stats] url` names one.
pub fn resolve_stats_url(config: Option<&Path>) -> Result<Option<String>, ConfigError> {
    let file = super::load_file(config)?;
    let stats = resolve_with(&super::Env::from_process(), file.as_ref())?;
    Ok(stats.url.map(|url| url.expose().to_string()))
}

/// The data folder for `llm-bridge stats`, found as `serve` finds it: flag
/// or environment, else the config file's `data_dir`, else `data`.
pub fn resolve_data_dir(
    flag: Option<&Path>,
    config: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let from_file = super::load_file(config)?.and_then(|f| f.config.data_dir);
    Ok(super::pick(&None, &from_file, DEFAULT_DATA_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str) -> Result<StatsConfig, ConfigError> {
        let file = LoadedFile::parse(Path::new("bridge.toml"), text.to_string())?;
        resolve(Some(&file))
    }

    #[test]
    fn ninety_days_unless_set() {
        assert_eq!(resolve(None).unwrap(), StatsConfig::default());
        assert_eq!(
            resolve_text("").unwrap().retention,
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(
            resolve_text("[stats]\nretention_days = 7\n")
                .unwrap()
                .retention,
            Duration::from_secs(7 * 86_400)
        );
    }

    #[test]
    fn zero_and_unknown_keys_name_the_line() {
        let error = resolve_text("[stats]\n\nretention_days = 0\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bridge.toml:3: stats.retention_days: must be greater than 0, not 0"
        );
        let error = resolve_text("[stats]\nretention = 3\n").unwrap_err();
        assert!(error.to_string().starts_with("bridge.toml:2"), "{error}");
    }

    #[test]
    fn serve_takes_data_dir_and_retention_from_flag_or_file() {
        use crate::config::Overrides;
        use crate::config::{Config, Env};
        let text = "data_dir = \"from-file\"\n[stats]\nretention_days = 30\n";
        let file = || LoadedFile::parse(Path::new("bridge.toml"), text.to_string()).unwrap();
        let env = Env::default();
        let config = Config::from_parts(&Overrides::default(), &env, Some(file())).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("from-file"));
        assert_eq!(config.stats.retention, Duration::from_secs(30 * 86_400));
        let flag = Overrides {
            data_dir: Some("from-flag".into()),
            ..Overrides::default()
        };
        let config = Config::from_parts(&flag, &env, Some(file())).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("from-flag"));
        let config = Config::from_parts(&Overrides::default(), &env, None).unwrap();
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(config.stats, StatsConfig::default());

        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("llm-bridge.example.toml");
        let example = LoadedFile::read(&example).unwrap();
        let config = Config::from_parts(&Overrides::default(), &env, Some(example)).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.stats, StatsConfig::default());
    }

    #[test]
    fn data_dir_from_flag_then_file_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bridge.toml");
        std::fs::write(&config, "data_dir = \"from-file\"\n").unwrap();
        let flag = Path::new("from-flag");
        assert_eq!(
            resolve_data_dir(Some(flag), Some(&config)).unwrap(),
            PathBuf::from("from-flag")
        );
        assert_eq!(
            resolve_data_dir(None, Some(&config)).unwrap(),
            PathBuf::from("from-file")
        );
        std::fs::write(&config, "listen = \"127.0.0.1:1\"\n").unwrap();
        assert_eq!(
            resolve_data_dir(None, Some(&config)).unwrap(),
            PathBuf::from("data")
        );
    }
}
