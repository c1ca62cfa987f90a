//! The cache shared through a real `redis-server` (Debian's, which
//! `.ci/run` installs when missing; `LLM_BRIDGE_TEST_REDIS` names another):
//! an answer stored through one instance is a hit on another, Redis going
//! away costs no request, and the `cache` commands work against it.

use std::path::PathBuf;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::mock_upstream::*;

/// A `redis-server` on a free loopback port, in a temp folder, persisting
/// nothing; killed when dropped.
pub struct RedisServer {
    child: tokio::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port).await
    }

    /// On `port` (to bring one back where it was).
    pub async fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let program = std::env::var_os("LLM_BRIDGE_TEST_REDIS")
            .map_or_else(|| PathBuf::from("/usr/bin/redis-server"), PathBuf::from);
        let child = tokio::process::Command::new(&program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run .ci/run, or apt-get install redis-server)",
                    program.display()
                )
            });
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_ready().await;
        server
    }

    /// Until it answers PING (it listens a moment after it starts).
    async fn wait_ready(&self) {
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Ok(mut stream) =
                    tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await
                {
                    let mut answer = [0u8; 7];
                    if stream.write_all(b"PING\r\n").await.is_ok()
                        && stream.read_exact(&mut answer).await.is_ok()
                        && &answer == b"+PONG\r\n"
                    {
                        return;
                    }
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("redis-server answered in time");
    }

    /// One command's reply, as Redis's protocol writes it (enough for a
    /// bulk string or an integer).
    pub async fn command(&self, args: &[&str]) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = vec![0u8; 512];
        let read = stream.read(&mut reply).await.unwrap();
        String::from_utf8_lossy(&reply[..read]).into_owned()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub async fn kill(mut self) -> u16 {
        self.child.kill().await.unwrap();
        self.port
    }
}

/// An instance on `redis`, trying it again 1 ms after a failure (so a
/// test sees it come back without waiting out the default second).
async fn instance(mock: &MockUpstream, redis: &RedisServer) -> Gateway {
    Setup::on(mock)
        .env("LLM_BRIDGE_REDIS_URL", &redis.url())
        .config("[redis]\nretry_after_ms = 1\n")
        .start()
        .await
}

fn question(text: &str) -> Value {
    let mut body = chat_body("gpt-4.1", false);
    body["messages"][0]["content"] = text.into();
    body
}

async fn shared_cache(gateway: &Gateway) -> Value {
    gateway.get_json("/health").await["shared_cache"].clone()
}

#[tokio::test]
async fn an_answer_stored_through_one_instance_is_a_hit_on_another() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let a = instance(&mock, &redis).await;
    let b = instance(&mock, &redis).await;
    let first = a.chat(&question("shared")).await;
    assert_eq!(cache_status(&first).0, "MISS");
    let stored = first.text().await.unwrap();
    a.cache_written().await;
    let second = b.chat(&question("shared")).await;
    assert_eq!(cache_status(&second).0, "HIT");
    assert_eq!(second.text().await.unwrap(), stored);
    assert_eq!(mock.hits(), 1);
    // B kept a local copy: it answers from its own folder with Redis gone.
    redis.kill().await;
    let third = b.chat(&question("shared")).await;
    assert_eq!(cache_status(&third).0, "HIT");
    assert_eq!(mock.hits(), 1);
    assert_eq!(shared_cache(&a).await["up"], true);
}

#[tokio::test]
async fn without_redis_requests_go_on_and_health_says_so_until_it_returns() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let gateway = instance(&mock, &redis).await;
    let health = shared_cache(&gateway).await;
    assert_eq!(health["up"], true, "{health}");
    assert!(
        health["location"].as_str().unwrap().contains("127.0.0.1"),
        "{health}"
    );
    let port = redis.kill().await;
    for n in 0..3 {
        let answer = gateway.chat(&question(&format!("while down {n}"))).await;
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap();
    }
    let down = shared_cache(&gateway).await;
    assert_eq!(down["up"], false, "{down}");
    assert!(down["errors"].as_u64().unwrap() >= 1, "{down}");
    assert!(down["last_error"].is_string(), "{down}");
    let metrics = gateway
        .scrape_metrics_until("llm_bridge_shared_cache_up{store=\"redis\"} 0")
        .await;
    assert!(
        metrics.contains("llm_bridge_shared_cache_errors_total"),
        "{metrics}"
    );

    let _redis = RedisServer::start_on(port).await;
    // Tried again once retry_after_ms has passed: each lookup that misses
    // locally gives it the chance.
    tokio::time::timeout(PATIENCE, async {
        let mut n = 0;
        loop {
            n += 1;
            let answer = gateway.chat(&question(&format!("after {n}"))).await;
            assert_eq!(answer.status(), 200);
            answer.text().await.unwrap();
            if shared_cache(&gateway).await["up"] == true {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the shared cache came back");
    gateway
        .scrape_metrics_until("llm_bridge_shared_cache_up{store=\"redis\"} 1")
        .await;
}

#[tokio::test]
async fn the_cache_commands_work_against_redis() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let gateway = instance(&mock, &redis).await;
    let answer = gateway.chat(&question("for the command")).await;
    let key = cache_status(&answer).1;
    answer.text().await.unwrap();
    gateway.cache_written().await;
    let folder = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = crate::command::bridge(folder.path())
            .env("LLM_BRIDGE_REDIS_URL", redis.url())
            .arg("cache")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stats, err) = run(&["stats"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(stats.contains("entries: 1 "), "{stats}");
    assert!(
        stats.contains(&format!("cache: Redis redis://127.0.0.1:{}/0", redis.port)),
        "{stats}"
    );
    let (_, list, _) = run(&["list"]);
    assert!(list.contains(&key[..12]), "{list}");
    let (code, show, err) = run(&["show", &key[..12]]);
    assert_eq!(code, Some(0), "{err}");
    assert!(show.contains("for the command"), "{show}");
    let (code, _, err) = run(&["rm", &key]);
    assert_eq!(code, Some(0), "{err}");
    let (_, stats, _) = run(&["stats"]);
    assert!(stats.contains("entries: 0 "), "{stats}");
}

#[tokio::test]
async fn without_the_local_tier_redis_alone_holds_the_cache_and_its_loss_is_a_miss() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let start = || {
        Setup::on(&mock)
            .env("LLM_BRIDGE_REDIS_URL", &redis.url())
            .config("[redis]\nlocal_tier = false\nretry_after_ms = 1\n")
            .start()
    };
    let (a, b) = (start().await, start().await);
    let first = a.chat(&question("redis only")).await;
    first.text().await.unwrap();
    a.cache_written().await;
    let files = std::fs::read_dir(&a.cache_dir).map_or(0, |dir| dir.count());
    assert_eq!(files, 0, "nothing written to the local folder");
    // The totals /metrics shows are Redis's, counted without a scan.
    let metrics = a.scrape_metrics_until("llm_bridge_cache_entries 1").await;
    let bytes = metrics
        .lines()
        .find_map(|l| l.strip_prefix("llm_bridge_cache_bytes "))
        .unwrap();
    assert!(bytes.parse::<u64>().unwrap() > 100, "{bytes}");
    assert_eq!(
        cache_status(&b.chat(&question("redis only")).await).0,
        "HIT"
    );
    redis.kill().await;
    let after = b.chat(&question("redis only")).await;
    assert_eq!(after.status(), 200);
    assert_eq!(cache_status(&after).0, "MISS");
    assert_eq!(mock.hits(), 2);
}

#[test]
fn redis_settings_are_checked() {
    let mock_env = |url: &str| Setup::default().env("LLM_BRIDGE_REDIS_URL", url);
    let dirs = tempfile::tempdir().unwrap();
    for (setup, wanted) in [
        (
            mock_env("http://127.0.0.1:6379"),
            "use redis:// or rediss://",
        ),
        (mock_env("not a url"), "LLM_BRIDGE_REDIS_URL"),
        (
            Setup::default().config("[redis]\nurl = \"redis://x\"\ntimeout_ms = 0\n"),
            "redis.timeout_ms",
        ),
        (
            Setup::default().config("[redis]\nurl = \"redis://x\"\nport = 1\n"),
            "port",
        ),
    ] {
        let error = setup.resolve(&dirs).unwrap_err().to_string();
        assert!(error.contains(wanted), "{error}");
    }
    let config = Setup::default()
        .env("LLM_BRIDGE_REDIS_URL", "redis://127.0.0.1:6379/2")
        .env("LLM_BRIDGE_REDIS_PASSWORD", "s3cret")
        .resolve(&dirs)
        .unwrap();
    let redis = config.redis.clone().unwrap();
    assert_eq!(redis.url.expose(), "redis://:s3cret@127.0.0.1:6379/2");
    assert!(!format!("{config:?}").contains("s3cret"));
    assert!(redis.local_tier);
}

const ALICE: &str = "alice-key-0123456789";

/// Two instances on `redis` with access key alice and `config`.
async fn two_for_alice(
    mock: &MockUpstream,
    redis: &RedisServer,
    config: &str,
) -> (Gateway, Gateway) {
    let start = || {
        Setup::on(mock)
            .env("LLM_BRIDGE_REDIS_URL", &redis.url())
            .env("ACCESS_API_KEYS", &format!("alice:{ALICE}"))
            .config(config)
            .start()
    };
    (start().await, start().await)
}

/// Question `n`, asked with alice's key.
async fn alice_asks(gateway: &Gateway, n: usize) -> reqwest::Response {
    gateway
        .chat_request()
        .bearer_auth(ALICE)
        .json(&question(&format!("alice's question {n}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_per_minute_hold_for_every_instance_together() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let config = "[redis]\nretry_after_ms = 1\n[limits.keys.alice]\nrequests_per_minute = 5\n";
    let (a, b) = two_for_alice(&mock, &redis, config).await;
    for n in 0..5 {
        let gateway = if n % 2 == 0 { &a } else { &b };
        let answer = alice_asks(gateway, n).await;
        assert_eq!(answer.status(), 200, "request {n}");
        answer.text().await.unwrap();
    }
    for gateway in [&a, &b] {
        let refused = alice_asks(gateway, 9).await;
        assert!(header(&refused, "retry-after").parse::<u64>().unwrap() >= 1);
        expect_error(refused, 429, "rate_limit_exceeded").await;
    }
    // Without Redis each instance counts on its own: still no client error
    // caused by Redis, only this instance's own limit.
    redis.kill().await;
    let answer = alice_asks(&a, 10).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(shared_cache(&a).await["up"], false);
}

#[tokio::test]
async fn a_budget_spent_through_one_instance_refuses_on_another() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    // Each answer costs its 3 completion tokens at $1 a token.
    let config = "[redis]\nretry_after_ms = 1\n\
        [prices.\"openai/gpt-4.1\"]\ninput = 0\noutput = 1000000\n\
        [budgets.keys.alice]\ndaily_usd = 5\n";
    let (a, b) = two_for_alice(&mock, &redis, config).await;
    for n in 0..2 {
        let answer = alice_asks(&a, n).await;
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap();
    }
    // Each cost reaches Redis as its request settles, just after the
    // client has the answer.
    let day = chrono::Utc::now().timestamp_millis() / 86_400_000;
    let field = format!("d:{day}");
    tokio::time::timeout(PATIENCE, async {
        while !redis
            .command(&["HGET", "llm-bridge:{budget}:key:alice", &field])
            .await
            .ends_with("\r\n6\r\n")
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the spend reached Redis");
    expect_error(alice_asks(&b, 3).await, 429, "budget_exceeded").await;
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn tokens_per_minute_hold_for_every_instance_together() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    // One token a minute: the first request's estimate takes the balance
    // to zero or below, wherever the next one arrives.
    let config = "[redis]\nretry_after_ms = 1\n[limits.keys.alice]\ntokens_per_minute = 1\n";
    let (a, b) = two_for_alice(&mock, &redis, config).await;
    let first = alice_asks(&a, 0).await;
    assert_eq!(first.status(), 200);
    first.text().await.unwrap();
    let refused = alice_asks(&b, 1).await;
    assert!(header(&refused, "retry-after").parse::<u64>().unwrap() >= 1);
    let body = expect_error(refused, 429, "rate_limit_exceeded").await;
    assert_eq!(body["error"]["type"], "tokens");
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn identical_requests_split_over_two_instances_cost_one_upstream_call() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let (a, b) = (instance(&mock, &redis).await, instance(&mock, &redis).await);
    mock.push_reply(Reply::GatedJson(
        reqwest::StatusCode::OK,
        completion("gpt-4.1", "one answer for all"),
    ));
    let asks: Vec<_> = (0..20)
        .map(|n| {
            let gateway = if n % 2 == 0 { &a } else { &b };
            let request = gateway.chat_request().json(&question("asked twenty times"));
            tokio::spawn(async move { request.send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    mock.wait_for_hits(1, PATIENCE).await;
    mock.release();
    for ask in asks {
        let answer = ask.await.unwrap();
        assert!(answer.contains("one answer for all"), "{answer}");
    }
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn when_the_leading_instance_dies_another_takes_over_and_stores_once() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let env = format!(
        "LLM_BRIDGE_REDIS_URL={}\nOPENAI_API_KEY=sk-openai-test\nOPENAI_BASE_URL={}\n",
        redis.url(),
        mock.url("/openai/v1")
    );
    let config = "[redis]\nlease_ms = 300\nretry_after_ms = 1\n";
    let leader = crate::binary::Binary::start_with(&mock, &env, Some(config)).await;
    mock.push_reply(Reply::GatedJson(
        reqwest::StatusCode::OK,
        completion("gpt-4.1", "never sent"),
    ));
    let url = format!("{}/chat/completions", leader.base);
    let held = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&question("who answers"))
            .send()
            .await
    });
    mock.wait_for_hits(1, PATIENCE).await;
    let survivor = Setup::on(&mock)
        .env("LLM_BRIDGE_REDIS_URL", &redis.url())
        .config(config)
        .start()
        .await;
    let request = survivor.chat_request().json(&question("who answers"));
    let waiting = tokio::spawn(async move { request.send().await.unwrap() });
    leader.signal("-KILL");
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(cache_status(&answer).0, "MISS");
    answer.text().await.unwrap();
    assert!(held.await.unwrap().is_err(), "the killed instance answered");
    assert_eq!(mock.hits(), 2);
    survivor.cache_written().await;
    assert_eq!(redis.command(&["ZCARD", "llm-bridge:keys"]).await, ":1\r\n");
}

#[tokio::test]
async fn a_stream_on_another_instance_gets_the_first_chunk_while_the_leader_streams() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    let (a, b) = (instance(&mock, &redis).await, instance(&mock, &redis).await);
    let events = sse_answer("gpt-4.1", &["Hel", "lo"]);
    let (before, after) = events.split_at(2);
    mock.push_reply(Reply::GatedSse {
        before: before.to_vec(),
        after: after.to_vec(),
    });
    let mut body = question("streamed once");
    body["stream"] = true.into();
    let mut leading = a.chat(&body).await;
    let first = crate::reader::read_until(&mut leading, "Hel").await;
    assert!(first.contains("Hel"), "{first}");
    // The upstream holds the rest: B relays what A has so far.
    let mut relayed = b.chat(&body).await;
    assert_eq!(relayed.status(), 200);
    let early = crate::reader::read_until(&mut relayed, "Hel").await;
    assert!(early.contains("chat.completion.chunk"), "{early}");
    mock.release();
    let rest_a = read_text(leading).await;
    let rest_b = read_text(relayed).await;
    assert!(
        rest_a.contains("lo") && rest_a.contains("[DONE]"),
        "{rest_a}"
    );
    assert!(
        rest_b.contains("lo") && rest_b.contains("[DONE]"),
        "{rest_b}"
    );
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_burst_spread_over_two_instances_reserves_against_one_budget() {
    let mock = MockUpstream::start().await;
    let redis = RedisServer::start().await;
    // The prompt costs $0.001 a token: about $1 for a thousand words.
    let config = "[redis]\nretry_after_ms = 1\n\
        [prices.\"openai/gpt-4.1\"]\ninput = 1000\noutput = 0\n\
        [budgets.keys.alice]\ndaily_usd = 2.5\n";
    let (a, b) = two_for_alice(&mock, &redis, config).await;
    for _ in 0..2 {
        mock.push_reply(Reply::GatedJson(
            reqwest::StatusCode::OK,
            completion("gpt-4.1", "held"),
        ));
    }
    let long = |n: usize| serde_json::json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": format!("{n} {}", "word ".repeat(1000))}]});
    let held: Vec<_> = [&a, &b]
        .into_iter()
        .enumerate()
        .map(|(n, gateway)| {
            let request = gateway.chat_request().bearer_auth(ALICE).json(&long(n));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    mock.wait_for_hits(2, PATIENCE).await;
    // One request held on each instance: a third, on either, would pass
    // the budget the two reserve together.
    for gateway in [&a, &b] {
        let refused = gateway
            .chat_request()
            .bearer_auth(ALICE)
            .json(&long(7))
            .send()
            .await
            .unwrap();
        expect_error(refused, 429, "budget_exceeded").await;
    }
    mock.release();
    mock.release();
    for request in held {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(mock.hits(), 2);
}
