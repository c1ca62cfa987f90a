//! How `.env` joins the environment: which file it is, reading it as
//! dotenvy loads it, reporting a line it cannot read by number (never by
//! its text, which may hold a key), and naming the variables that the real
//! environment shadows.
//!
//! Real variables win over `.env`, at start-up and on every reload, so a
//! `.env` value for a name the environment also sets is never used. That is
//! easy to miss (an old `export OPENAI_API_KEY=…` in a shell profile makes
//! `keys set` look broken), so it is said out loud, naming the variable,
//! never a value. Every comparison is against the environment as it was
//! before `main.rs` loaded `.env` into it.
//!
//! Editing the file is [`super::env_file`]'s; building configuration from
//! it again on a change, [`crate::wiring::reload`]'s.

use std::path::{Path, PathBuf};

use super::Env;
use super::env_file;

/// The `.env` file: `LLM_BRIDGE_ENV_FILE`, else `.env` in the working
/// directory (the same file `llm-bridge keys` edits).
pub fn path(env: &Env) -> PathBuf {
    env.get("LLM_BRIDGE_ENV_FILE")
        .map_or_else(|| PathBuf::from(".env"), PathBuf::from)
}

/// The variables of the file at `path`, first of repeated names winning,
/// exactly as dotenvy loads them; a missing file has none. A line dotenvy
/// cannot parse fails the whole read, named by its number.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = match env_file::read(path) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let variables = env_file::variables(&text);
    match variables.unreadable_line {
        Some(line) => Err(unreadable(path, line)),
        None => Ok(variables.values),
    }
}

/// `.env:3: cannot be parsed; …`, the same words wherever it is reported.
pub fn unreadable(path: &Path, line: usize) -> String {
    format!(
        "{}:{line}: cannot be parsed; it and the lines after it are not loaded",
        path.display()
    )
}

/// The environment `serve` runs with: `process`, plus the file's variables
/// for names it lacks.
#[derive(Debug)]
pub struct Layered {
    pub env: Env,
    /// Names the file sets to another value than the environment has: the
    /// file's value is not used.
    pub shadowed: Vec<String>,
}

/// Reads the file at `path` under `process`.
pub fn layer(process: &Env, path: &Path) -> Result<Layered, String> {
    let mut env = process.clone();
    let mut shadowed = Vec::new();
    for (name, value) in read(path)? {
        if process.shadows(&name, &value) {
            shadowed.push(name.clone());
        }
        env.insert_if_absent(name, value);
    }
    Ok(Layered { env, shadowed })
}

/// Why a `.env` value of `name` has no effect.
pub fn shadowed_warning(name: &str) -> String {
    format!(
        "{name} is set in the environment, so its value in .env is not used \
         (unset it there, or restart without it)"
    )
}

/// Why removing `name` from `.env` has no effect.
pub fn still_set_warning(name: &str) -> String {
    format!(
        "{name} is set in the environment, so it stays set without .env \
         (unset it there, or restart without it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_different_value_is_shadowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "A=from-file\nB=same\nC=new\nD=x\nA=later\n").unwrap();
        let process = Env::from_pairs([("A", "from-shell"), ("B", "same"), ("D", "")]);
        let layered = layer(&process, &file).unwrap();
        assert_eq!(layered.shadowed, ["A", "D"]);
        assert_eq!(layered.env.get("A"), Some("from-shell"));
        assert_eq!(layered.env.get("C"), Some("new"));
        assert_eq!(layered.env.get("D"), None, "an empty variable still wins");
    }

    #[test]
    fn an_unreadable_line_is_named_by_number_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.env");
        std::fs::write(&file, "A=1\n\nB='sk-SECRET\nC=3\n").unwrap();
        let error = read(&file).unwrap_err();
        assert_eq!(
            error,
            format!(
                "{}:3: cannot be parsed; it and the lines after it are not loaded",
                file.display()
            )
        );
        assert!(read(&dir.path().join("missing")).unwrap().is_empty());
    }
}
