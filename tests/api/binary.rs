//! The real `llm-bridge` binary under test as a running server: started in
//! a temp folder with its providers pointed at the mock, its stderr lines
//! on a channel, signalled and waited for. One-shot commands are
//! [`crate::command`]'s.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::command::{BRIDGE, bridge, clean_command, folder_with, listening_base, run};
use crate::common::{PATIENCE, chat_body};
use crate::mock_upstream::MockUpstream;
use crate::reader::read_until;

/// How to start the binary, beyond the mock's URL in `.env`.
#[derive(Default)]
pub struct Launch<'a> {
    /// Lines added to `.env`.
    pub extra_env: &'a str,
    /// Leave `DEEPSEEK_API_KEY=sk-test` out of `.env`.
    pub no_key: bool,
    /// The `llm-bridge.toml`, when given.
    pub config: Option<&'a str>,
    /// Started under `ulimit -n open_files`, when given.
    pub open_files: Option<u32>,
    /// Variables in its process environment besides `PATH`.
    pub process_env: &'a [(&'a str, &'a str)],
}

/// A temp folder with the `.env` (and `llm-bridge.toml`) `launch` asks for.
fn folder_for(mock: &MockUpstream, launch: &Launch<'_>) -> tempfile::TempDir {
    let key = if launch.no_key {
        ""
    } else {
        "DEEPSEEK_API_KEY=sk-test\n"
    };
    let env = format!(
        "DEEPSEEK_BASE_URL={}\n{key}{}",
        mock.url("/deepseek/v1"),
        launch.extra_env
    );
    let dir = folder_with(".env", &env);
    if let Some(config) = launch.config {
        std::fs::write(dir.path().join("llm-bridge.toml"), config).unwrap();
    }
    dir
}

/// The real binary in a temp folder, providers pointed at `mock`, with its
/// stderr lines on a channel.
pub struct Binary {
    pub child: tokio::process::Child,
    pub base: String,
    stderr: mpsc::UnboundedReceiver<String>,
    pub dir: tempfile::TempDir,
}

impl Binary {
    pub async fn start(mock: &MockUpstream) -> Self {
        Self::start_with_open_files(mock, None).await
    }

    /// Started under `ulimit -n open_files`, when given.
    pub async fn start_with_open_files(mock: &MockUpstream, open_files: Option<u32>) -> Self {
        let launch = Launch {
            open_files,
            ..Launch::default()
        };
        Self::launch(mock, launch).await
    }

    /// Started with `extra_env` lines added to its `.env` and, when given,
    /// `config` as its `llm-bridge.toml`.
    pub async fn start_with(mock: &MockUpstream, extra_env: &str, config: Option<&str>) -> Self {
        let launch = Launch {
            extra_env,
            config,
            ..Launch::default()
        };
        Self::launch(mock, launch).await
    }

    pub async fn launch(mock: &MockUpstream, launch: Launch<'_>) -> Self {
        // The test's own HTTP clients need the TLS provider the gateway
        // installs for itself; with no gateway in this process, install it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = folder_for(mock, &launch);
        let mut command = match launch.open_files {
            None => bridge(dir.path()),
            Some(limit) => {
                let mut shell = clean_command("sh", dir.path());
                let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
                shell.args(["-c", &script, BRIDGE]);
                shell
            }
        };
        command
            .envs(launch.process_env.iter().copied())
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(PATIENCE, stdout.next_line())
            .await
            .expect("the binary started")
            .unwrap()
            .unwrap_or_default();
        let base = listening_base(&line);
        let (lines, stderr) = mpsc::unbounded_channel();
        let mut reader = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = reader.next_line().await {
                let _ = lines.send(line);
            }
        });
        Self {
            child,
            base,
            stderr,
            dir,
        }
    }

    pub fn signal(&self, name: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for a stderr line containing `needle`.
    pub async fn logged(&mut self, needle: &str) -> String {
        self.lines_until(needle).await.pop().unwrap_or_default()
    }

    /// The stderr lines up to and including the first containing `needle`.
    pub async fn lines_until(&mut self, needle: &str) -> Vec<String> {
        timeout(PATIENCE, async {
            let mut lines = Vec::new();
            while let Some(line) = self.stderr.recv().await {
                let found = line.contains(needle);
                lines.push(line);
                if found {
                    return lines;
                }
            }
            panic!("stderr ended without a line containing {needle:?}: {lines:?}");
        })
        .await
        .expect("the line was logged in time")
    }

    /// Runs `llm-bridge ARGS` in the binary's folder (e.g. `keys set`).
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        run(self.dir.path(), args)
    }

    /// `POST /v1/chat/completions` with `body`, and `key` as Bearer.
    pub async fn chat(&self, body: &serde_json::Value, key: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/chat/completions", self.base))
            .json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    /// `GET /health`.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(self.base.replace("/v1", "/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn exit_code(&mut self) -> Option<i32> {
        timeout(PATIENCE, self.child.wait())
            .await
            .expect("the binary exited in time")
            .unwrap()
            .code()
    }

    pub async fn open_gated_stream(&self) -> reqwest::Response {
        let mut response = reqwest::Client::new()
            .post(format!("{}/chat/completions", self.base))
            .json(&chat_body("deepseek-chat", true))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        read_until(&mut response, "first").await;
        response
    }
}
