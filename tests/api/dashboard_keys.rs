//! Keys and reloads from the dashboard's API, against the real binary (it
//! has the `.env` file and the live reload).

use serde_json::{Value, json};

use crate::binary::Binary;
use crate::common::expect_error;
use crate::dashboard::json_of;
use crate::mock_upstream::*;

const ADMIN: &str = "adm-key-0123456789";
const READER: &str = "bob-key-0123456789";

async fn keyed_binary(mock: &MockUpstream) -> Binary {
    let env = format!(
        "ACCESS_API_KEYS=root/admin:{ADMIN},bob:{READER}\nOPENROUTER_BASE_URL={}\n",
        mock.url("/openrouter/v1")
    );
    Binary::start_with(mock, &env, None).await
}

fn api(binary: &Binary, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
    let root = binary.base.trim_end_matches("/v1");
    reqwest::Client::new()
        .request(method, format!("{root}{path}"))
        .bearer_auth(key)
}

/// Whether `/health` shows openrouter with a key. The change is applied
/// before `POST /api/keys` answers, so no waiting is needed.
async fn openrouter_has_key(binary: &Binary, wanted: bool) {
    let health = binary.health().await;
    let openrouter = health["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "openrouter")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(openrouter["has_key"], wanted, "{health}");
}

#[tokio::test]
async fn a_key_set_from_the_dashboard_is_written_to_env_and_applied() {
    let mock = MockUpstream::start().await;
    let binary = keyed_binary(&mock).await;
    let set = api(&binary, reqwest::Method::POST, "/api/keys", ADMIN)
        .json(&json!({"set": {"OPENROUTER_API_KEY": "sk-or-from-the-page-9876"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let answer: Value = set.json().await.unwrap();
    assert_eq!(answer["set"], json!(["OPENROUTER_API_KEY"]));
    assert_eq!(answer["reload"]["ok"], true);
    let text = answer.to_string();
    assert!(
        !text.contains("sk-or-from-the-page"),
        "values never come back: {text}"
    );
    let env = std::fs::read_to_string(binary.dir.path().join(".env")).unwrap();
    assert!(
        env.contains("OPENROUTER_API_KEY=sk-or-from-the-page-9876"),
        "{env}"
    );
    openrouter_has_key(&binary, true).await;

    let listed = json_of(
        api(&binary, reqwest::Method::GET, "/api/keys", READER)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let entry = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "OPENROUTER_API_KEY")
        .cloned()
        .unwrap();
    assert_eq!(entry["masked"], "…9876");
    assert!(!listed.to_string().contains(ADMIN), "{listed}");

    let unset = api(&binary, reqwest::Method::POST, "/api/keys", ADMIN)
        .json(&json!({"unset": ["OPENROUTER_API_KEY"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unset.status(), 200);
    openrouter_has_key(&binary, false).await;

    let reload = json_of(
        api(&binary, reqwest::Method::POST, "/api/reload", ADMIN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(reload["ok"], true);
    let status = json_of(
        api(&binary, reqwest::Method::GET, "/api/status", READER)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(status["reload"]["last_failed"], false);
    assert!(status["env_file"].as_str().unwrap().ends_with(".env"));
}

#[tokio::test]
async fn bad_key_changes_leave_env_untouched() {
    let mock = MockUpstream::start().await;
    let binary = keyed_binary(&mock).await;
    let before = std::fs::read_to_string(binary.dir.path().join(".env")).unwrap();
    for body in [
        json!({"set": {"1BAD": "x"}}),
        json!({"set": {"GOOD": "two\nlines"}}),
        json!({"unset": ["no spaces"]}),
        json!({}),
        json!({"set": {"A": "x"}, "unset": ["A"]}),
        json!({"sett": {"A": "x"}}),
        json!(["OPENAI_API_KEY"]),
    ] {
        let response = api(&binary, reqwest::Method::POST, "/api/keys", ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_parameter").await;
    }
    let after = std::fs::read_to_string(binary.dir.path().join(".env")).unwrap();
    assert_eq!(before, after);
    let refused = api(&binary, reqwest::Method::POST, "/api/keys", READER)
        .json(&json!({"set": {"OPENAI_API_KEY": "sk-x"}}))
        .send()
        .await
        .unwrap();
    expect_error(refused, 403, "admin_required").await;
}
