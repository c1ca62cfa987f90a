//! What the real binary tells a new user at start-up and on reload: no
//! provider key, `.env` values the real environment shadows, a `.env` it
//! cannot read. Each is said once, naming variables and lines, never values.

use crate::binary::{Binary, Launch};
use crate::common::chat_body;
use crate::mock_upstream::MockUpstream;

const NO_KEY: &str = "no provider has an API key: set OPENAI_API_KEY, DEEPSEEK_API_KEY, \
                      OPENROUTER_API_KEY, QWEN_API_KEY, GEMINI_API_KEY or ANTHROPIC_API_KEY (in the \
                      environment or \
                      .env, or with `llm-bridge keys set NAME=…`); ";

const SHADOWED: &str = "DEEPSEEK_API_KEY is set in the environment, so its value in .env is not \
                        used (unset it there, or restart without it)";

/// The stderr lines up to a reload, which a new config file triggers: what
/// start-up and a reload said. (Not SIGHUP: this soon after start-up, the
/// signal might come before its handler and stop the binary.)
async fn reload_lines(binary: &mut Binary) -> Vec<String> {
    std::fs::write(binary.dir.path().join("llm-bridge.toml"), "# new\n").unwrap();
    binary.lines_until("configuration reloaded").await
}

#[tokio::test]
async fn without_any_provider_key_it_says_which_variables_to_set_once() {
    let mock = MockUpstream::start().await;
    let launch = Launch {
        no_key: true,
        ..Launch::default()
    };
    let mut binary = Binary::launch(&mock, launch).await;
    let line = binary.logged("no provider has an API key").await;
    assert!(
        line.ends_with(&format!(
            "{NO_KEY}until then each client's own key is passed through to the provider it asks \
             for (as `Authorization: Bearer`)"
        )),
        "{line}"
    );
    let reload = reload_lines(&mut binary).await;
    assert!(
        !reload
            .iter()
            .any(|l| l.contains("no provider has an API key")),
        "said once, not on reload: {reload:?}"
    );
    // And so it is: the client's key reaches the provider.
    let response = binary
        .chat(&chat_body("deepseek-chat", false), Some("sk-client"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(mock.authorizations(), ["Bearer sk-client"]);
}

#[tokio::test]
async fn with_access_keys_and_no_provider_key_it_says_requests_will_fail() {
    let mock = MockUpstream::start().await;
    let launch = Launch {
        no_key: true,
        extra_env: "ACCESS_API_KEYS=alice:acc-secret-1\n",
        ..Launch::default()
    };
    let mut binary = Binary::launch(&mock, launch).await;
    let line = binary.logged("no provider has an API key").await;
    assert!(
        line.ends_with(
            "until then requests to providers that need a key fail: with ACCESS_API_KEYS set, \
             clients' keys are never passed on"
        ),
        "{line}"
    );
    assert!(!line.contains("acc-secret"), "{line}");
}

#[tokio::test]
async fn with_a_provider_key_nothing_is_said() {
    let mock = MockUpstream::start().await;
    let mut binary = Binary::start(&mock).await;
    let lines = reload_lines(&mut binary).await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("API key") || l.contains("is set in the environment")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn the_environment_shadowing_env_is_named_at_start_up_and_on_every_reload() {
    let mock = MockUpstream::start().await;
    let launch = Launch {
        process_env: &[("DEEPSEEK_API_KEY", "sk-from-shell")],
        ..Launch::default()
    };
    let mut binary = Binary::launch(&mock, launch).await;
    let line = binary.logged("is set in the environment").await;
    assert!(line.ends_with(SHADOWED), "{line}");
    let response = binary.chat(&chat_body("deepseek-chat", false), None).await;
    assert_eq!(response.status(), 200);

    // `keys set` changes .env; the running server reloads it, says again
    // that the value is not used, and indeed keeps the shell's.
    let output = binary.run(&["keys", "set", "DEEPSEEK_API_KEY=sk-from-keys-set"]);
    assert!(output.status.success(), "{output:?}");
    let reload = binary.lines_until("configuration reloaded").await;
    assert!(reload.iter().any(|l| l.ends_with(SHADOWED)), "{reload:?}");
    let mut other = chat_body("deepseek-chat", false);
    other["messages"][0]["content"] = "not a cache hit".into();
    let response = binary.chat(&other, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        mock.authorizations(),
        ["Bearer sk-from-shell", "Bearer sk-from-shell"]
    );
    for line in reload.iter().chain([&line]) {
        assert!(!line.contains("sk-from"), "{line}");
    }
}

#[tokio::test]
async fn the_same_value_in_both_places_is_no_cause_for_a_warning() {
    let mock = MockUpstream::start().await;
    let launch = Launch {
        process_env: &[("DEEPSEEK_API_KEY", "sk-test")],
        ..Launch::default()
    };
    let mut binary = Binary::launch(&mock, launch).await;
    let lines = reload_lines(&mut binary).await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("is set in the environment")),
        "{lines:?}"
    );
}
