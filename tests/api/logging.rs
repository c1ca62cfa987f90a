//! The request log: one line per request, never a key.

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

fn lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn one_line_per_request_and_no_key_anywhere() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .env("ACCESS_API_KEYS", "access-secret-9")
        .without("DEEPSEEK_API_KEY")
        .start()
        .await;
    let send = |body| {
        gateway
            .chat_request()
            .bearer_auth("access-secret-9")
            .header("x-request-id", "req-42")
            .json(&body)
            .send()
    };
    let response = send(chat_body("openai/gpt-4.1", true)).await.unwrap();
    assert!(read_text(response).await.ends_with(SSE_DONE));
    let response = send(chat_body("deepseek-chat", false)).await.unwrap();
    assert_eq!(response.status(), 200);
    read_text(response).await;
    let wrong = gateway
        .chat_request()
        .bearer_auth("wrong-secret-7")
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let log = gateway.stop_and_read_log().await;
    for secret in [
        "access-secret-9",
        "wrong-secret-7",
        OPENAI_KEY,
        DEEPSEEK_KEY,
        QWEN_KEY,
        GEMINI_KEY,
        OPENROUTER_KEY,
    ] {
        assert!(!log.contains(secret), "{secret} in log");
    }
    let lines = lines(&log);
    assert_eq!(lines.len(), 3, "{log}");
    let first = &lines[0];
    assert_eq!(first["request_id"], "req-42");
    assert_eq!(first["model"], "openai/gpt-4.1");
    assert_eq!(first["provider"], "openai");
    assert_eq!(first["upstream_model"], "gpt-4.1");
    assert_eq!(first["stream"], true);
    assert_eq!(first["status"], 200);
    assert_eq!(first["outcome"], "complete");
    assert!(first["key_id"].as_str().unwrap().starts_with("key-"));
    assert!(first["ttfb_ms"].as_f64().unwrap() <= first["total_ms"].as_f64().unwrap());
    assert!(first["bytes"].as_u64().unwrap() > 100);
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        first.get("request_body").is_none(),
        "bodies are off by default"
    );
    assert_eq!(lines[1]["stream"], false);
    assert_eq!(lines[2]["status"], 401);
    assert_eq!(lines[2]["error"], "invalid_api_key");
    assert_ne!(lines[2]["key_id"], first["key_id"]);
}

#[tokio::test]
async fn bodies_are_logged_only_when_asked() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock)
        .config("[log]\nlog_bodies = true\n")
        .start()
        .await;
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    assert_eq!(response.status(), 200);
    read_text(response).await;
    let response = gateway
        .chat_request()
        .bearer_auth("sk-client-secret")
        .json(&chat_body("deepseek-chat", true))
        .send()
        .await
        .unwrap();
    read_text(response).await;
    let log = gateway.stop_and_read_log().await;
    assert!(!log.contains("sk-client-secret"));
    let lines = lines(&log);
    let request: Value = serde_json::from_str(lines[0]["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(request, chat_body("gpt-4.1", false));
    assert!(
        lines[0]["response_body"]
            .as_str()
            .unwrap()
            .contains("Hello from the mock")
    );
    assert!(
        lines[1]["response_body"]
            .as_str()
            .unwrap()
            .ends_with(SSE_DONE)
    );
}

#[tokio::test]
async fn the_log_rotates_by_size() {
    let mock = MockUpstream::start().await;
    let mut gateway = Setup::on(&mock)
        .config("[log]\nmax_file_bytes = 600\nmax_files = 3\n")
        .start()
        .await;
    for _ in 0..12 {
        assert_eq!(
            gateway.chat(&chat_body("gpt-4.1", false)).await.status(),
            200
        );
    }
    gateway.stop().await;
    assert_eq!(
        gateway.log_files(),
        ["requests.log", "requests.log.1", "requests.log.2"]
    );
}
