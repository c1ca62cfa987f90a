//! Keys and configuration that change while the real binary runs: `keys
//! set`, edits of `.env` and the config file, SIGHUP, and a broken reload.

use serde_json::json;

use crate::binary::Binary;
use crate::mock_upstream::*;
use crate::reader::read_to_end;

fn ask(content: &str) -> serde_json::Value {
    json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": content}]})
}

#[tokio::test]
async fn keys_set_reaches_the_running_server_and_spares_requests_in_flight() {
    let mock = MockUpstream::start().await;
    mock.push_gated_answer("deepseek-chat", &["first", "second"]);
    let mut binary = Binary::start(&mock).await;
    let in_flight = binary.open_gated_stream().await;

    let output = binary.run(&["keys", "set", "DEEPSEEK_API_KEY=sk-rotated"]);
    assert!(output.status.success(), "{output:?}");
    binary.logged("configuration reloaded").await;

    mock.release();
    let rest = read_to_end(in_flight).await;
    assert!(
        rest.ends_with(SSE_DONE),
        "the stream in flight finished: {rest}"
    );
    let response = binary.chat(&ask("after the change"), None).await;
    assert_eq!(response.status(), 200);
    let keys = mock.authorizations();
    assert_eq!(keys, ["Bearer sk-test", "Bearer sk-rotated"]);
}

#[tokio::test]
async fn access_keys_change_without_a_restart() {
    let mock = MockUpstream::start().await;
    let mut binary = Binary::start_with(&mock, "ACCESS_API_KEYS=alice:key-one\n", None).await;
    assert_eq!(binary.chat(&ask("a"), Some("key-one")).await.status(), 200);

    let output = binary.run(&["keys", "set", "ACCESS_API_KEYS=alice:key-two"]);
    assert!(output.status.success(), "{output:?}");
    binary.logged("configuration reloaded").await;
    assert_eq!(binary.chat(&ask("b"), Some("key-one")).await.status(), 401);
    assert_eq!(binary.chat(&ask("c"), Some("key-two")).await.status(), 200);
}

#[tokio::test]
async fn a_broken_reload_keeps_the_running_configuration() {
    let mock = MockUpstream::start().await;
    let config = "[aliases]\nfast = \"deepseek/deepseek-chat\"\n";
    let mut binary = Binary::start_with(&mock, "", Some(config)).await;

    let broken = format!("{config}[providers.deepseek]\nbogus = 1\n");
    std::fs::write(binary.dir.path().join("llm-bridge.toml"), broken).unwrap();
    let line = binary.logged("configuration reload failed").await;
    assert!(line.contains("llm-bridge.toml:4"), "names the line: {line}");
    assert!(line.contains("bogus"), "{line}");

    let response = binary
        .chat(
            &json!({"model": "fast", "messages": [{"role": "user", "content": "x"}]}),
            None,
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "the alias of the running config still works"
    );
    let health = binary.health().await;
    assert_eq!(health["reloads"]["failed"], 1);
    assert_eq!(health["reloads"]["last_failed"], true);

    // A broken .env is refused the same way, without showing its lines.
    let env = binary.dir.path().join(".env");
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str("SECRET_LINE='sk-unterminated\n");
    std::fs::write(&env, text).unwrap();
    let line = binary.logged("configuration reload failed").await;
    assert!(
        line.ends_with(
            "configuration reload failed; keeping the running configuration: \
             .env:3: cannot be parsed; it and the lines after it are not loaded"
        ),
        "{line}"
    );
    assert!(!line.contains("sk-unterminated"), "{line}");
    assert_eq!(binary.chat(&ask("still"), None).await.status(), 200);
}

#[tokio::test]
async fn sighup_reloads_at_once() {
    let mock = MockUpstream::start().await;
    let mut binary = Binary::start(&mock).await;
    binary.signal("-HUP");
    binary.logged("configuration reloaded").await;
    assert_eq!(binary.health().await["reloads"]["done"], 1);
    assert_eq!(binary.chat(&ask("up"), None).await.status(), 200);
}
