//! The real binary, run as a user would: start-up, `--help`, and the
//! start-up errors.

use std::process::Stdio;

use crate::command::{bridge, folder_with, spawn_listening};
use crate::common::provider;

#[tokio::test]
async fn starts_with_no_config_and_serves_health() {
    let dir = folder_with(".env", "DEEPSEEK_API_KEY=sk-from-dotenv\n");
    let mut command = bridge(dir.path());
    command
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::null());
    let (mut child, base) = spawn_listening(&mut command).await;
    let health: serde_json::Value = reqwest::get(base.replace("/v1", "/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let deepseek = provider(&health, "deepseek");
    assert_eq!(deepseek["has_key"], true, ".env was loaded");
    assert!(dir.path().join("llm_cache").is_dir());
    assert!(dir.path().join("logs").is_dir());
}

#[test]
fn help_documents_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let output = bridge(dir.path()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "serve",
        "--listen",
        "LLM_BRIDGE_LISTEN",
        "--config",
        "LLM_BRIDGE_CONFIG",
        "--cache-dir",
        "LLM_BRIDGE_CACHE_DIR",
        "--log-dir",
        "LLM_BRIDGE_LOG_DIR",
        "127.0.0.1:6688",
        "ACCESS_API_KEYS",
        "LLM_BRIDGE_PROXY",
        "NAME_API_KEY",
        "NAME_BASE_URL",
        "RUST_LOG",
        "llm-bridge.example.toml",
        "--cache-mode",
        "LLM_BRIDGE_CACHE_MODE",
        "cache",
        "Cache-Control",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

/// Every endpoint the router serves.
pub const EVERY_ENDPOINT: [&str; 25] = [
    "POST /v1/chat/completions",
    "POST /v1/completions",
    "POST /v1/embeddings",
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "POST /v1/responses",
    "GET /v1/models",
    "GET /v1/models/{id}",
    "GET /health",
    "GET /metrics",
    "GET /ui",
    "GET /api/session",
    "GET /api/live",
    "GET /api/stats",
    "GET /api/stats/series",
    "GET /api/requests",
    "GET /api/requests/{id}",
    "GET /api/cache",
    "GET /api/cache/{key}",
    "DELETE /api/cache/{key}",
    "POST /api/cache/check",
    "GET /api/status",
    "GET /api/keys",
    "POST /api/keys",
    "POST /api/reload",
];

#[test]
fn help_and_serve_help_list_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["serve", "--help"]] {
        let output = bridge(dir.path()).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        let line = help
            .lines()
            .find(|l| l.starts_with("Endpoints"))
            .unwrap_or_else(|| panic!("no Endpoints line in {args:?}:\n{help}"));
        assert_eq!(
            line,
            format!(
                "Endpoints (the /v1 ones also without /v1): {}.",
                EVERY_ENDPOINT.join(", ")
            ),
            "{args:?}"
        );
    }
}

#[test]
fn an_invalid_config_file_names_the_file_line_and_field() {
    let dir = folder_with(
        "llm-bridge.toml",
        "listen = \"127.0.0.1:0\"\n\n[providers.local]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodelz = [\"x\"]\n",
    );
    let output = bridge(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("llm-bridge.toml:5"), "{stderr}");
    assert!(stderr.contains("modelz"), "{stderr}");

    std::fs::write(
        dir.path().join("other.toml"),
        "[providers.x]\nbase_url = \"ftp://x\"\n",
    )
    .unwrap();
    let output = bridge(dir.path())
        .args(["serve", "--config", "other.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("other.toml:2: providers.x.base_url"),
        "{stderr}"
    );

    let output = bridge(dir.path())
        .env("LLM_BRIDGE_CONFIG", "missing.toml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("missing.toml")
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_field_and_form() {
    let dir = folder_with("llm-bridge.toml", "[server]\nmax_body_bytes = \"10MB\"\n");
    let output = bridge(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "llm-bridge: llm-bridge.toml:2: server.max_body_bytes: expected a whole number of bytes \
         such as 10485760 (10 MiB), not the string \"10MB\"\n"
    );
}

#[test]
fn a_broken_env_is_reported_once_by_line_without_its_text() {
    let dir = folder_with(
        ".env",
        "# keys\nDEEPSEEK_API_KEY=sk-fine\nOPENAI_API_KEY='sk-SECRET-unterminated\nA=1\n",
    );
    let output = bridge(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "llm-bridge: .env:3: cannot be parsed; it and the lines after it are not loaded\n"
    );
    // Commands that go on without it warn, once.
    std::fs::create_dir(dir.path().join("llm_cache")).unwrap();
    let output = bridge(dir.path())
        .args(["cache", "stats"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "llm-bridge: warning: .env:3: cannot be parsed; it and the lines after it are not loaded\n"
    );
}

#[test]
fn refuses_an_open_address_without_access_keys() {
    let dir = tempfile::tempdir().unwrap();
    let output = bridge(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("ACCESS_API_KEYS"), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
}
