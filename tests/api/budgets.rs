//! Spend budgets on one instance: a key that has spent its budget is
//! refused with 429 `budget_exceeded` before anything goes upstream, a
//! burst reserves its estimates, spend shows in `/health` and `/metrics`,
//! and it survives a restart (the ledger starts from the usage database).

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

const ALICE: &str = "alice-key-0123456789";
const BOB: &str = "bob-key-0123456789";

/// gpt-4.1 at `input` and `output` USD per million tokens, and alice's
/// daily budget.
fn config(input: f64, output: f64, alice_daily: f64) -> String {
    format!(
        "[prices.\"openai/gpt-4.1\"]\ninput = {input}\noutput = {output}\n\n\
         [budgets.keys.alice]\ndaily_usd = {alice_daily}\n"
    )
}

async fn gateway(mock: &MockUpstream, toml: &str, data_dir: Option<&std::path::Path>) -> Gateway {
    let mut setup = Setup::on(mock)
        .env("ACCESS_API_KEYS", &format!("alice:{ALICE},bob:{BOB}"))
        .config(toml);
    setup.data_dir = data_dir.map(std::path::Path::to_path_buf);
    setup.start().await
}

async fn ask(gateway: &Gateway, key: &str, content: &str) -> reqwest::Response {
    let mut body = chat_body("gpt-4.1", false);
    body["messages"][0]["content"] = json!(content);
    gateway
        .chat_request()
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Polls `/health` until `key`'s line has `field` = `value`: spend is
/// settled when a response ends, just after its client has it.
async fn budget_shows(gateway: &Gateway, key: &str, field: &str, value: f64) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let line = health_budget(gateway, key).await;
            if line[field].as_f64() == Some(value) {
                return line;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the spend was settled in time")
}

async fn health_budget(gateway: &Gateway, key: &str) -> Value {
    let health = gateway.get_json("/health").await;
    health["budgets"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["key"] == key)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_spent_budget_refuses_with_429_and_sends_nothing_upstream() {
    let mock = MockUpstream::start().await;
    // Each answer costs its 3 completion tokens at $1 a token: $3.
    let gateway = gateway(&mock, &config(0.0, 1_000_000.0, 5.0), None).await;
    for question in ["q1", "q2"] {
        let answer = ask(&gateway, ALICE, question).await;
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap();
    }
    gateway.cache_written().await;
    budget_shows(&gateway, "alice", "daily_spent_usd", 6.0).await;
    let refused = ask(&gateway, ALICE, "q3").await;
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let body = expect_error(refused, 429, "budget_exceeded").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("daily budget of $5.00 for access key `alice`"),
        "{message}"
    );
    assert!(
        message.contains("resets at") && message.contains("T00:00:00Z"),
        "{message}"
    );
    assert_eq!(body["error"]["type"], "insufficient_quota");
    // A spent budget stops the key, hits included; nothing went upstream.
    expect_error(ask(&gateway, ALICE, "q1").await, 429, "budget_exceeded").await;
    assert_eq!(mock.hits(), 2);
    // In Anthropic's shape on its route.
    let messages = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", ALICE)
        .json(&json!({"model": "gpt-4.1", "max_tokens": 10, "messages": [{"role": "user", "content": "q4"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(messages.status(), 429);
    assert!(messages.headers().contains_key("retry-after"));
    let anthropic: Value = messages.json().await.unwrap();
    assert_eq!(anthropic["type"], "error", "{anthropic}");
    assert_eq!(
        anthropic["error"]["type"], "rate_limit_error",
        "{anthropic}"
    );
    // Bob has no budget.
    assert_eq!(ask(&gateway, BOB, "q5").await.status(), 200);
    assert_eq!(mock.hits(), 3);

    let line = health_budget(&gateway, "alice").await;
    assert_eq!(line["daily_usd"], 5.0, "{line}");
    assert_eq!(line["daily_spent_usd"], 6.0, "{line}");
    assert_eq!(line["reserved_usd"], 0.0, "{line}");
    assert_eq!(line["monthly_usd"], Value::Null, "{line}");
    let metrics = gateway
        .client
        .get(gateway.url("/metrics"))
        .bearer_auth(BOB)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("llm_bridge_budget_usd{key=\"alice\",period=\"daily\"} 5.0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("llm_bridge_budget_spent_usd{key=\"alice\",period=\"daily\"} 6.0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn requests_in_flight_reserve_their_estimate_so_a_burst_cannot_overshoot() {
    let mock = MockUpstream::start().await;
    // The prompt costs $0.001 a token: about $1 for a thousand words.
    let gateway = gateway(&mock, &config(1000.0, 0.0, 2.5), None).await;
    let long = |n: usize| format!("{n} {}", "word ".repeat(1000));
    for _ in 0..2 {
        mock.push_reply(Reply::GatedJson(
            reqwest::StatusCode::OK,
            completion("gpt-4.1", "held"),
        ));
    }
    let held: Vec<_> = (0..2)
        .map(|n| {
            let gateway_url = gateway.url("/v1/chat/completions");
            let client = gateway.client.clone();
            let body =
                json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": long(n)}]});
            tokio::spawn(async move {
                client
                    .post(gateway_url)
                    .bearer_auth(ALICE)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    mock.wait_for_hits(2, PATIENCE).await;
    let reserved = health_budget(&gateway, "alice").await["reserved_usd"]
        .as_f64()
        .unwrap();
    assert!((2.0..2.5).contains(&reserved), "{reserved}");
    // Nothing is spent yet, but a third would pass the budget.
    expect_error(ask(&gateway, ALICE, &long(2)).await, 429, "budget_exceeded").await;
    mock.release();
    mock.release();
    for request in held {
        assert_eq!(request.await.unwrap(), 200);
    }
    // They cost their 5 prompt tokens each: the estimates are released.
    let line = budget_shows(&gateway, "alice", "daily_spent_usd", 0.01).await;
    assert_eq!(line["reserved_usd"], 0.0, "{line}");
    assert_eq!(ask(&gateway, ALICE, &long(3)).await.status(), 200);
}

#[tokio::test]
async fn spend_survives_a_restart_and_bad_budgets_are_refused() {
    let mock = MockUpstream::start().await;
    let data = tempfile::tempdir().unwrap();
    let toml = config(0.0, 1_000_000.0, 3.0);
    let mut first = gateway(&mock, &toml, Some(data.path())).await;
    assert_eq!(ask(&first, ALICE, "q1").await.status(), 200);
    first.stop().await;
    let second = gateway(&mock, &toml, Some(data.path())).await;
    assert_eq!(
        health_budget(&second, "alice").await["daily_spent_usd"],
        3.0
    );
    expect_error(ask(&second, ALICE, "q2").await, 429, "budget_exceeded").await;
    assert_eq!(mock.hits(), 1);

    for (toml, field) in [
        (
            "[budgets.keys.alice]\ndaily_usd = 0\n",
            "budgets.keys.alice.daily_usd",
        ),
        ("[budgets]\nmonthly_usd = -5\n", "budgets.monthly_usd"),
        (
            "[budgets]\nkey_daily_usd = \"ten\"\n",
            "budgets.key_daily_usd",
        ),
        (
            "[budgets.keys.carol]\ndaily_usd = 1\n",
            "budgets.keys.carol",
        ),
        ("[budgets]\nweekly_usd = 1\n", "weekly_usd"),
    ] {
        let setup = Setup::on(&mock)
            .env("ACCESS_API_KEYS", &format!("alice:{ALICE}"))
            .config(toml);
        let dirs = tempfile::tempdir().unwrap();
        let error = setup.resolve(&dirs).unwrap_err().to_string();
        assert!(error.contains(field), "{toml}: {error}");
    }
}

#[test]
fn the_stats_command_shows_spend_against_each_budget() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let (store, guard) = llm_bridge::stats::UsageStore::open(
        &dir.path().join("data"),
        std::time::Duration::from_secs(86_400 * 400),
    )
    .unwrap();
    for (n, (key, cost)) in [("alice", 0.5), ("alice", 0.25), ("bob", 2.0)]
        .into_iter()
        .enumerate()
    {
        store.record(llm_bridge::usage::UsageRecord {
            time_ms: now - n as i64,
            request_id: format!("req-{n}"),
            key_name: Some(key.into()),
            status: 200,
            cost_usd: Some(cost),
            total_ms: 1.0,
            ..Default::default()
        });
    }
    drop(guard);
    std::fs::write(
        dir.path().join("llm-bridge.toml"),
        "[budgets]\nmonthly_usd = 100\n[budgets.keys.alice]\ndaily_usd = 5\n",
    )
    .unwrap();
    let run = |format: &str| {
        let output = crate::command::bridge(dir.path())
            .args(["stats", "--format", format])
            .output()
            .unwrap();
        crate::command::succeeded(&output)
    };
    let table = run("table");
    assert!(table.contains("Budgets (UTC day and month):"), "{table}");
    let alice = table
        .lines()
        .find(|l| l.trim_start().starts_with("alice"))
        .unwrap();
    assert!(alice.contains("$0.7500 of $5.00"), "{alice}");
    let gateway = table.lines().find(|l| l.contains("(gateway)")).unwrap();
    assert!(gateway.contains("$2.7500 of $100.00"), "{gateway}");
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["budgets"]["keys"][0]["key"], "alice");
    assert_eq!(json["budgets"]["keys"][0]["daily_spent_usd"], 0.75);
    assert_eq!(json["budgets"]["gateway"]["monthly_spent_usd"], 2.75);
    assert_eq!(json["total"]["requests"], 3);
}

#[tokio::test]
async fn budgets_from_the_environment_are_set_with_the_keys_command_and_a_reload() {
    let mock = MockUpstream::start().await;
    let env = format!(
        "ACCESS_API_KEYS=root/admin:{BOB},alice:{ALICE}\nOPENAI_API_KEY=sk-openai-test\nOPENAI_BASE_URL={}\n",
        mock.url("/openai/v1")
    );
    let binary = crate::binary::Binary::start_with(&mock, &env, None).await;
    assert_eq!(binary.health().await["budgets"]["keys"], json!([]));
    let set = crate::command::run(
        binary.dir.path(),
        &["keys", "set", "LLM_BRIDGE_BUDGETS=alice=5/50"],
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let root = binary.base.trim_end_matches("/v1").to_string();
    let reload = reqwest::Client::new()
        .post(format!("{root}/api/reload"))
        .bearer_auth(BOB)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200);
    let line = binary.health().await["budgets"]["keys"][0].clone();
    assert_eq!(line["key"], "alice", "{line}");
    assert_eq!(line["daily_usd"], 5.0, "{line}");
    assert_eq!(line["monthly_usd"], 50.0, "{line}");

    for (value, wanted) in [
        ("alice", "is not NAME=DAILY/MONTHLY"),
        ("alice=abc/", "`abc`"),
        ("alice=0/", "greater than 0"),
        ("carol=1/", "no access key is named `carol`"),
    ] {
        let dirs = tempfile::tempdir().unwrap();
        let error = Setup::on(&mock)
            .env("ACCESS_API_KEYS", &format!("alice:{ALICE}"))
            .env("LLM_BRIDGE_BUDGETS", value)
            .resolve(&dirs)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("LLM_BRIDGE_BUDGETS"), "{error}");
        assert!(error.contains(wanted), "{value}: {error}");
    }
}
