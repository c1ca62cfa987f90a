//! The usage ledger in a real PostgreSQL (Debian's, which `.ci/run`
//! installs when missing; `LLM_BRIDGE_TEST_POSTGRES_BIN` names another
//! `bin` folder): two instances write to it, and every report shows both,
//! by instance.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;
use crate::mock_upstream::*;

/// A PostgreSQL server in a temp folder on a free loopback port, trusting
/// local connections; killed when dropped. As root it runs as the
/// `postgres` user (PostgreSQL refuses to run as root).
pub struct Postgres {
    _child: tokio::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LLM_BRIDGE_TEST_POSTGRES_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (run .ci/run, or apt-get install postgresql)")
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"))
}

/// `program args…`, as the `postgres` user when this runs as root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        command.arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let bin = bin_dir();
        let data = dir.path().join("data");
        let init = as_owner(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        crate::command::succeeded(&init);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = as_owner(&bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .arg("-k")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = tokio::process::Command::from(server)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let postgres = Self {
            _child: child,
            port,
            _dir: dir,
        };
        postgres.wait_ready().await;
        postgres
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Until it takes a connection (it listens, then recovers, then serves).
    async fn wait_ready(&self) {
        let url = self.url();
        tokio::time::timeout(PATIENCE, async {
            loop {
                let url = url.clone();
                // The blocking client starts a runtime of its own: not on
                // one of the test runtime's threads.
                let ready = tokio::task::spawn_blocking(move || {
                    std::thread::spawn(move || {
                        postgres::Client::connect(&url, postgres::NoTls).is_ok()
                    })
                    .join()
                    .unwrap_or(false)
                })
                .await
                .unwrap();
                if ready {
                    return;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("PostgreSQL took connections in time");
    }
}

async fn instance(mock: &MockUpstream, postgres: &Postgres, name: &str) -> Gateway {
    Setup::on(mock)
        .env("LLM_BRIDGE_STATS_URL", &postgres.url())
        .env("LLM_BRIDGE_INSTANCE", name)
        .start()
        .await
}

async fn ask(gateway: &Gateway, text: &str) {
    let mut body = chat_body("gpt-4.1", false);
    body["messages"][0]["content"] = text.into();
    let answer = gateway.chat(&body).await;
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap();
}

/// `(group, requests)` of a report.
fn rows(report: &Value) -> Vec<(String, u64)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap().to_string(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn usage_from_two_instances_is_reported_together_by_instance() {
    let mock = MockUpstream::start().await;
    let postgres = Postgres::start().await;
    let a = instance(&mock, &postgres, "alpha").await;
    let b = instance(&mock, &postgres, "beta").await;
    ask(&a, "first").await;
    ask(&a, "second").await;
    ask(&b, "third").await;
    // A report first writes its own instance's queued rows; A's are made
    // sure of by asking A once.
    let from_a = a.get_json("/api/stats?by=instance").await;
    assert!(
        rows(&from_a).contains(&("alpha".to_string(), 2)),
        "{from_a}"
    );
    let from_b = b.get_json("/api/stats?by=instance").await;
    let mut by_instance = rows(&from_b);
    by_instance.sort();
    assert_eq!(
        by_instance,
        [("alpha".to_string(), 2), ("beta".to_string(), 1)]
    );
    assert_eq!(from_b["total"]["requests"], 3);
    let listed = b.get_json("/api/requests").await;
    let instances: Vec<&str> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance"].as_str().unwrap())
        .collect();
    assert_eq!(instances, ["beta", "alpha", "alpha"]);
    let series = b.get_json("/api/stats/series?since=1h").await;
    assert_eq!(crate::dashboard_usage::requests_in(&series), 3);

    let folder = tempfile::tempdir().unwrap();
    let output = crate::command::bridge(folder.path())
        .env("LLM_BRIDGE_STATS_URL", postgres.url())
        .args(["stats", "--by", "instance", "--format", "csv"])
        .output()
        .unwrap();
    let csv = crate::command::succeeded(&output);
    assert!(csv.lines().any(|l| l.starts_with("alpha,2,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("beta,1,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("total,3,")), "{csv}");
}

#[test]
fn the_ledger_url_must_be_postgres_and_the_instance_is_named() {
    let dirs = tempfile::tempdir().unwrap();
    let error = Setup::default()
        .env("LLM_BRIDGE_STATS_URL", "mysql://db/llm")
        .resolve(&dirs)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("LLM_BRIDGE_STATS_URL"), "{error}");
    assert!(error.contains("postgres://"), "{error}");
    let config = Setup::default()
        .config("[stats]\nurl = \"postgres://u:secret@db/llm\"\ninstance = \"gw-1\"\n")
        .resolve(&dirs)
        .unwrap();
    assert_eq!(config.stats.instance, "gw-1");
    assert_eq!(
        config.stats.url.as_ref().unwrap().expose(),
        "postgres://u:secret@db/llm"
    );
    assert!(!format!("{:?}", config.stats).contains("secret"));
}
