//! The dashboard in a real browser: `tests/sdk/dashboard_browser.py` drives
//! headless Chromium (Playwright for Python, launched on the system's
//! `chromium`, whose path `LLM_BRIDGE_CHROMIUM` can change) through every
//! tab against the real binary, and fails on any console error or any
//! request to another origin. `.ci/run` installs Debian's `chromium` when
//! it is missing. Screenshots go to the folder the test prints (and names
//! when it fails): `target/tmp/dashboard-screenshots/{keyed,open}`.

use std::path::PathBuf;

use crate::binary::Binary;
use crate::mock_upstream::*;
use crate::sdk::python;

const ADMIN: &str = "adm-key-0123456789";

/// Runs the browser script against the binary started with `access_keys`
/// (`None`: open mode) and checks what it and the mock saw.
async fn browse(access_keys: Option<&str>, admin_key: &str, shots: &str) {
    let mock = MockUpstream::start().await;
    let keys = access_keys.map_or(String::new(), |keys| format!("ACCESS_API_KEYS={keys}\n"));
    let env = format!(
        "{keys}OPENAI_API_KEY=sk-openai-test\nOPENAI_BASE_URL={}\nOPENROUTER_BASE_URL={}\n",
        mock.url("/openai/v1"),
        mock.url("/openrouter/v1")
    );
    let binary = Binary::start_with(&mock, &env, None).await;
    let root = binary.base.trim_end_matches("/v1").to_string();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dashboard-screenshots")
        .join(shots);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/dashboard_browser.py");
    let output = tokio::process::Command::new(python())
        .arg(script)
        .args([root.as_str(), admin_key])
        .arg(&shots)
        .env("NO_PROXY", "*")
        .output()
        .await
        .unwrap();
    println!("dashboard screenshots: {}", shots.display());
    assert!(
        output.status.success(),
        "the browser run failed (screenshots in {}):\n{}",
        shots.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["ok"], true, "{result}");
    assert!(result["requests_seen"].as_u64().unwrap() >= 4, "{result}");
    assert_eq!(
        result["screenshots"].as_array().unwrap().len(),
        7,
        "{result}"
    );
    // The page's chats went through the gateway to the mock, each question
    // once: the repeat was a hit.
    let chats = mock
        .recorded()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count();
    assert_eq!(chats, 3);
}

#[tokio::test]
async fn a_person_signs_in_watches_requests_charts_usage_and_manages_the_cache_and_keys() {
    browse(Some(&format!("root/admin:{ADMIN}")), ADMIN, "keyed").await;
}

#[tokio::test]
async fn in_open_mode_this_machine_goes_straight_in_with_the_same_tabs() {
    browse(None, "", "open").await;
}
