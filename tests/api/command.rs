//! The real `llm-bridge` binary as a command a user types: run in a folder
//! with a clean environment (only `PATH`, plus what a test adds), its
//! output read as text, and its "listening on" line when it serves.
//!
//! The long-running binary with its stderr on a channel is
//! [`crate::binary::Binary`], built on [`clean_command`].

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;

/// The binary `cargo test` built.
pub const BRIDGE: &str = env!("CARGO_BIN_EXE_llm-bridge");

/// `program` in `dir` with nothing of the test's environment but `PATH`,
/// and no stdin.
pub fn clean_command(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    command
}

/// `llm-bridge` in `dir`, in a clean environment; add arguments and
/// variables.
pub fn bridge(dir: &Path) -> Command {
    clean_command(BRIDGE, dir)
}

/// Runs `llm-bridge ARGS` in `dir` to its end.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    bridge(dir).args(args).output().unwrap()
}

/// The stdout of a run that must have succeeded (its stderr otherwise).
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh temp folder holding `name` with `text` (a `.env`, a config).
pub fn folder_with(name: &str, text: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    dir
}

/// The base URL (`http://ADDR/v1`) in the first line a serving binary
/// prints, which must be `llm-bridge listening on URL`.
pub fn listening_base(line: &str) -> String {
    line.trim()
        .strip_prefix("llm-bridge listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string()
}

/// Spawns `command` (a serving `llm-bridge`) with its stdout piped and
/// waits for its first line; returns the child and its base URL.
pub async fn spawn_listening(command: &mut Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    (child, listening_base(&line))
}
