//! A client nobody here wrote: the official `openai` Python package talks to
//! the gateway, streamed and not.
//!
//! The interpreter is `LLM_BRIDGE_TEST_PYTHON`, or `.venv/bin/python` in the
//! repository, which `.ci/run` creates with the packages in
//! `tests/sdk/requirements.txt`.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("LLM_BRIDGE_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the openai SDK test needs Python with the openai package: run `.ci/run`, or \
         `python3 -m venv .venv && .venv/bin/pip install -r tests/sdk/requirements.txt`"
    );
    venv
}

#[tokio::test]
async fn the_openai_python_sdk_streams_and_completes_through_the_gateway() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .without("QWEN_API_KEY")
        .without("DASHSCOPE_API_KEY")
        .start()
        .await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/openai_sdk_check.py");
    let output = tokio::process::Command::new(python())
        .arg(script)
        .arg(gateway.url("/v1"))
        .env("NO_PROXY", "*")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "SDK script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["content"], "Hello from the mock");
    assert_eq!(parsed["model"], "deepseek-chat");
    assert_eq!(parsed["usage_total"], 8);
    assert_eq!(parsed["raw_provider"], "openai");
    assert_eq!(parsed["stream_content"], "tok0 tok1 tok2 ");
    assert_eq!(parsed["stream_finish"], "stop");
    assert!(
        parsed["models"]
            .as_array()
            .unwrap()
            .contains(&Value::from("deepseek/deepseek-chat"))
    );

    let seen = mock.recorded();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].json()["model"], "deepseek-chat");
    assert_eq!(seen[0].json()["temperature"], 0.2);
    assert_eq!(
        seen[0].header("authorization").unwrap(),
        format!("Bearer {DEEPSEEK_KEY}")
    );
    assert_eq!(seen[2].json()["stream"], true);
    // qwen has no key here, so the SDK's own key was passed through.
    assert_eq!(
        seen[2].header("authorization").unwrap(),
        "Bearer sk-client-key"
    );
}
