//! Configuration that changes while the server runs.
//!
//! `.env` and the config file are watched (their contents compared every
//! [`POLL_INTERVAL`]; a poll survives editors and `keys set` replacing the
//! file by rename, which file-event watches lose track of), and SIGHUP
//! reloads at once. A reload builds a whole new configuration from the
//! same flags, the environment the process started with, and the files as
//! they are now; if it does not validate, the running configuration stays
//! and the reason is logged. Requests in flight keep the configuration they
//! started with ([`super::live`]).
//!
//! What a reload changes: provider keys, URLs, timeouts, retries, caps,
//! aliases, fallbacks, access keys, rate limits, allowed origins. What needs
//! a restart (a warning names it when it changed): the listen address, the
//! cache, log and data folders and settings, `[server]` (with
//! `max_body_bytes`) and `[stats]`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::AppState;
use crate::admin::control::Reconfigure;
use crate::config::{Config, DEFAULT_CONFIG_FILE, Env, Overrides, dotenv};

/// How often the files are compared. A person saving a file or running
/// `keys set` sees the change taken within a second; reading two small
/// files a second costs nothing.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What the watched files held, by content digest (`None`: missing).
type Fingerprint = [Option<[u8; 32]>; 2];

/// Where the configuration comes from, kept to build it again.
#[derive(Debug)]
pub struct ConfigSource {
    args: Overrides,
    /// The process environment before `.env` was read: real variables win
    /// over `.env`, at start-up and on every reload.
    process_env: Env,
    env_file: PathBuf,
    /// The files as they were just before the last load, so a change made
    /// while the server was starting is not missed.
    loaded: Mutex<Fingerprint>,
}

impl ConfigSource {
    pub fn new(args: Overrides, process_env: Env, env_file: PathBuf) -> Self {
        Self {
            args,
            process_env,
            env_file,
            loaded: Mutex::new([None, None]),
        }
    }

    /// The `.env` file read.
    pub fn env_file(&self) -> &Path {
        &self.env_file
    }

    /// The environment: the process's, plus `.env` for names it lacks. A
    /// missing `.env` is an empty one.
    pub fn env(&self) -> Result<dotenv::Layered, String> {
        dotenv::layer(&self.process_env, &self.env_file)
    }

    /// The configuration as the files are now. Logs a warning for each
    /// `.env` value the environment shadows, at start-up and on every
    /// reload, since each is a setting the user made that has no effect.
    pub fn load(&self) -> Result<Config, String> {
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = self.fingerprint();
        let layered = self.env()?;
        for name in &layered.shadowed {
            tracing::warn!("{}", dotenv::shadowed_warning(name));
        }
        Config::resolve(&self.args, &layered.env).map_err(|e| e.to_string())
    }

    /// Whether the files differ from what the last load read.
    fn changed(&self) -> bool {
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) != self.fingerprint()
    }

    fn config_file(&self) -> PathBuf {
        self.args
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE))
    }

    /// What the watched files hold now.
    fn fingerprint(&self) -> Fingerprint {
        let digest = |path: &Path| std::fs::read(path).ok().map(|b| Sha256::digest(b).into());
        [digest(&self.env_file), digest(&self.config_file())]
    }
}

/// Starts watching; the task ends with the runtime. The dashboard's
/// changes go through the same source.
pub fn spawn(state: AppState, source: ConfigSource) {
    // Registered here, before the caller goes on to listen: a SIGHUP sent
    // as soon as the server says it is listening must reload, not take the
    // default action (which ends the process).
    let hangups = hangups();
    let source = Arc::new(source);
    state.control().install(Arc::new(DashboardControl {
        state: state.downgrade(),
        source: Arc::clone(&source),
    }));
    tokio::spawn(watch(state, source, POLL_INTERVAL, hangups));
}

/// The dashboard's way to the configuration source. It holds the state
/// weakly: the state holds it.
struct DashboardControl {
    state: super::state::WeakState,
    source: Arc<ConfigSource>,
}

impl Reconfigure for DashboardControl {
    fn env_file(&self) -> PathBuf {
        self.source.env_file().to_path_buf()
    }

    fn reload(&self) -> Result<(), String> {
        let state = self
            .state
            .upgrade()
            .ok_or_else(|| "the server is stopping".to_string())?;
        reload(&state, &self.source)
    }
}

async fn watch(state: AppState, source: Arc<ConfigSource>, poll: Duration, mut hangups: Hangups) {
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = ticks.tick() => false,
            () = next_hangup(&mut hangups) => true,
        };
        if forced || source.changed() {
            let _ = reload(&state, &source);
        }
    }
}

/// Builds the configuration again and swaps it in, or keeps the old one;
/// why it was kept, when it was.
pub fn reload(state: &AppState, source: &ConfigSource) -> Result<(), String> {
    let outcome = source.load().and_then(|config| {
        warn_about_restart_only(state.config(), &config);
        state.replace_config(config).map_err(|e| e.to_string())
    });
    match &outcome {
        Ok(()) => tracing::info!("configuration reloaded"),
        Err(error) => tracing::warn!(
            "configuration reload failed; keeping the running configuration: {error}"
        ),
    }
    state.note_reload(&outcome);
    outcome
}

fn warn_about_restart_only(running: &Config, next: &Config) {
    let mut changed = Vec::new();
    if running.listen != next.listen {
        changed.push("listen");
    }
    if running.cache_dir != next.cache_dir || running.data_dir != next.data_dir {
        changed.push("cache_dir/data_dir");
    }
    if running.cache != next.cache {
        changed.push("[cache]");
    }
    if running.log != next.log {
        changed.push("log_dir/[log]");
    }
    if running.server != next.server {
        changed.push("[server]");
    }
    if running.stats != next.stats {
        changed.push("[stats]");
    }
    if running.max_body_bytes != next.max_body_bytes {
        changed.push("max_body_bytes");
    }
    if !changed.is_empty() {
        tracing::warn!(
            "changed settings that apply only after a restart: {}",
            changed.join(", ")
        );
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    {}
}

async fn next_hangup(hangups: &mut Hangups) {
    #[cfg(unix)]
    if let Some(signal) = hangups
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await
}
