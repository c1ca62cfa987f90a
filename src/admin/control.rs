//! Changing the gateway from the dashboard: `GET /api/keys` (names and
//! masks of `.env`), `POST /api/keys` (set and unset variables there,
//! exactly as `llm-bridge keys set`/`unset` do, then reload) and
//! `POST /api/reload`. Values are never sent back. Changing needs an admin
//! key.
//!
//! The server's configuration source is the wiring's; this module sees it
//! through [`Reconfigure`], installed once the server runs (a gateway
//! built without one, as in-process tests build it, answers 503).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::require_admin;
use crate::caller::Caller;
use crate::config::env_file;
use crate::config::secret::mask_tail;
use crate::error::AppError;

/// What the dashboard may do to the running configuration.
pub trait Reconfigure: Send + Sync {
    /// The `.env` file the server reads.
    fn env_file(&self) -> PathBuf;
    /// Loads the configuration again and swaps it in; why not, if not.
    /// Blocking (reads files, builds HTTP clients).
    fn reload(&self) -> Result<(), String>;
}

/// The [`Reconfigure`] of the running server, once there is one.
#[derive(Clone, Default)]
pub struct ControlHandle(Arc<OnceLock<Arc<dyn Reconfigure>>>);

impl ControlHandle {
    /// Sets the server's; later calls change nothing.
    pub fn install(&self, control: Arc<dyn Reconfigure>) {
        let _ = self.0.set(control);
    }

    fn get(&self) -> Result<Arc<dyn Reconfigure>, AppError> {
        self.0.get().cloned().ok_or_else(|| {
            AppError::Unavailable("this gateway was started without a configuration source".into())
        })
    }

    /// The `.env` file, when known.
    pub fn env_file(&self) -> Option<PathBuf> {
        self.0.get().map(|control| control.env_file())
    }
}

/// `GET /api/keys`.
pub async fn list_keys(State(control): State<ControlHandle>) -> Result<Json<Value>, AppError> {
    let path = control.get()?.env_file();
    let text = read(&path)?.unwrap_or_default();
    let keys: Vec<Value> = env_file::variables(&text)
        .values
        .iter()
        .map(|(name, value)| json!({ "name": name, "masked": mask_tail(value) }))
        .collect();
    Ok(Json(json!({ "env_file": path, "keys": keys })))
}

/// The body of `POST /api/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyChanges {
    #[serde(default)]
    set: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    unset: Vec<String>,
}

/// `POST /api/keys` (admin).
pub async fn change_keys(
    State(control): State<ControlHandle>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    require_admin(&caller, "changing keys")?;
    let changes: KeyChanges =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidField {
            param: "body",
            message: format!(
                "expected {{\"set\": {{\"NAME\": \"value\"}}, \"unset\": [\"NAME\"]}}: {e}"
            ),
        })?;
    changes.check()?;
    let control = control.get()?;
    let answer = tokio::task::spawn_blocking(move || {
        let path = control.env_file();
        changes.apply(&path)?;
        let reload = control.reload();
        Ok::<_, AppError>(json!({
            "set": changes.set.keys().collect::<Vec<_>>(),
            "unset": changes.unset,
            "reload": outcome(&reload),
        }))
    })
    .await
    .map_err(|_| AppError::Unavailable("the change was interrupted".into()))??;
    tracing::info!(
        "keys changed from the dashboard by {}",
        caller.key_id.as_deref().unwrap_or("the local user")
    );
    Ok(Json(answer))
}

/// `POST /api/reload` (admin).
pub async fn reload(
    State(control): State<ControlHandle>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<Value>, AppError> {
    require_admin(&caller, "reloading the configuration")?;
    let control = control.get()?;
    let reload = tokio::task::spawn_blocking(move || control.reload())
        .await
        .map_err(|_| AppError::Unavailable("the reload was interrupted".into()))?;
    Ok(Json(outcome(&reload)))
}

fn outcome(reload: &Result<(), String>) -> Value {
    json!({ "ok": reload.is_ok(), "error": reload.as_ref().err() })
}

impl KeyChanges {
    /// Every name and value checked before the file is touched.
    fn check(&self) -> Result<(), AppError> {
        if self.set.is_empty() && self.unset.is_empty() {
            return Err(invalid("give names to set or unset"));
        }
        for name in self.set.keys().chain(&self.unset) {
            if !env_file::valid_name(name) {
                return Err(invalid(&format!(
                    "`{}` is not a variable name (letters, digits and _, not starting with a digit)",
                    name.chars().take(64).collect::<String>()
                )));
            }
        }
        for (name, value) in &self.set {
            if let Some(problem) = env_file::value_problem(value) {
                return Err(invalid(&format!(
                    "the value of {name} contains {problem}; .env values are one line"
                )));
            }
            if self.unset.contains(name) {
                return Err(invalid(&format!("{name} is both set and unset")));
            }
        }
        Ok(())
    }

    fn apply(&self, path: &Path) -> Result<(), AppError> {
        let text = read(path)?.unwrap_or_default();
        let pairs: Vec<(String, String)> = self
            .set
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let (text, _) = env_file::set(&text, &pairs);
        let (text, _) = env_file::unset(&text, &self.unset);
        env_file::write_atomic(path, &text)
            .map_err(|e| AppError::Unavailable(format!("cannot write {}: {e}", path.display())))
    }
}

fn read(path: &Path) -> Result<Option<String>, AppError> {
    env_file::read(path)
        .map_err(|e| AppError::Unavailable(format!("cannot read {}: {e}", path.display())))
}

fn invalid(message: &str) -> AppError {
    AppError::InvalidField {
        param: "body",
        message: message.to_string(),
    }
}
