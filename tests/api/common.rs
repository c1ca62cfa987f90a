//! Shared test harness: a real llm-bridge server in-process on port 0, with
//! its own temp folders, configured from an environment snapshot and an
//! optional config file text; the one [`PATIENCE`] bound every wait uses;
//! and the small readings of its answers and folders that many test files
//! make (headers, cache status, error bodies, folder listings, entry ages,
//! providers in `/health`).
//!
//! Not here: the real binary ([`crate::binary`], [`crate::command`]),
//! reading streamed bodies ([`crate::reader`]), raw TCP
//! ([`crate::raw_http`]), the upstream ([`crate::mock_upstream`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use llm_bridge::config::Overrides;
use llm_bridge::config::{Config, ConfigError, Env, LoadedFile};
use llm_bridge::limits::LimitClock;
use llm_bridge::request_log::batch::FlushGuard;
use llm_bridge::request_log::{REQUEST_LOG_FILE, RequestLog};
use llm_bridge::wiring::{self as app, AppState};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::mock_upstream::MockUpstream;

/// How long any test waits for something that should happen at once (a
/// chunk, a log line, a request at the mock, an exit): far above every bound
/// under test, so a slow machine never fails a test that would pass, while
/// a hang still ends.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Provider key values the tests use, to check where they show up.
pub const OPENAI_KEY: &str = "sk-openai-test-1111";
pub const DEEPSEEK_KEY: &str = "sk-deepseek-test-2222";
pub const OPENROUTER_KEY: &str = "sk-or-test-3333";
pub const QWEN_KEY: &str = "sk-dashscope-test-4444";
pub const GEMINI_KEY: &str = "gm-google-test-5555";
pub const ANTHROPIC_KEY: &str = "sk-ant-test-6666";

/// Every built-in provider pointed at `mock` under `/NAME/v1`, each with a
/// key (qwen and gemini through the alternative variable names).
pub fn builtin_env(mock: &MockUpstream) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for name in [
        "openai",
        "deepseek",
        "openrouter",
        "qwen",
        "gemini",
        "anthropic",
    ] {
        env.push((
            format!("{}_BASE_URL", name.to_uppercase()),
            mock.url(&format!("/{name}/v1")),
        ));
    }
    env.push(("OPENAI_API_KEY".into(), OPENAI_KEY.into()));
    env.push(("DEEPSEEK_API_KEY".into(), DEEPSEEK_KEY.into()));
    env.push(("OPENROUTER_API_KEY".into(), OPENROUTER_KEY.into()));
    env.push(("DASHSCOPE_API_KEY".into(), QWEN_KEY.into()));
    env.push(("GOOGLE_API_KEY".into(), GEMINI_KEY.into()));
    env.push(("ANTHROPIC_API_KEY".into(), ANTHROPIC_KEY.into()));
    env
}

/// How to set up a gateway under test.
#[derive(Default)]
pub struct Setup {
    pub env: Vec<(String, String)>,
    pub config_toml: Option<String>,
    /// Cache folder (default: a fresh one in the gateway's temp folder).
    pub cache_dir: Option<PathBuf>,
    /// The clock rate limits run on (default: the system's).
    pub limit_clock: Option<LimitClock>,
    /// Data folder (default: a fresh one in the gateway's temp folder).
    pub data_dir: Option<PathBuf>,
}

impl Setup {
    /// Built-in providers on `mock`, keys set, no config file.
    pub fn on(mock: &MockUpstream) -> Self {
        Self {
            env: builtin_env(mock),
            ..Self::default()
        }
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.env.retain(|(k, _)| k != name);
        self
    }

    /// Uses `dir` as the cache folder (to share it between gateways).
    pub fn cache_dir(mut self, dir: &std::path::Path) -> Self {
        self.cache_dir = Some(dir.to_path_buf());
        self
    }

    pub fn config(mut self, toml: &str) -> Self {
        self.config_toml = Some(toml.to_string());
        self
    }

    /// Runs rate limits on `clock`, for tests that move time.
    pub fn limit_clock(mut self, clock: LimitClock) -> Self {
        self.limit_clock = Some(clock);
        self
    }

    /// Resolves the configuration as `serve` would.
    pub fn resolve(&self, dirs: &TempDir) -> Result<Config, ConfigError> {
        let args = Overrides {
            listen: Some("127.0.0.1:0".into()),
            config: None,
            cache_dir: Some(
                self.cache_dir
                    .clone()
                    .unwrap_or_else(|| dirs.path().join("llm_cache")),
            ),
            log_dir: Some(dirs.path().join("logs")),
            data_dir: Some(
                self.data_dir
                    .clone()
                    .unwrap_or_else(|| dirs.path().join("data")),
            ),
            ..Overrides::default()
        };
        let file = self
            .config_toml
            .as_ref()
            .map(|text| LoadedFile::parse(&dirs.path().join("llm-bridge.toml"), text.clone()))
            .transpose()?;
        Config::from_parts(&args, &Env::from_pairs(self.env.clone()), file)
    }

    pub async fn start(self) -> Gateway {
        let dirs = tempfile::tempdir().unwrap();
        let config = self.resolve(&dirs).expect("test config is valid");
        let (request_log, guard) = RequestLog::open(&config.log).unwrap();
        let log_dir = config.log.dir.clone();
        let cache_dir = config.cache_dir.clone();
        let data_dir = config.data_dir.clone();
        let clock = self.limit_clock.unwrap_or_else(LimitClock::system);
        let state = AppState::with_limit_clock(config, request_log, clock).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let cache_state = state.clone();
        let task = tokio::spawn(app::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Gateway {
            addr,
            client: reqwest::Client::new(),
            log_dir,
            cache_dir,
            data_dir,
            stop: Some(stop),
            task: Some(task),
            guard: Some(guard),
            state: cache_state,
            _dirs: dirs,
        }
    }
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    log_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Where the usage database is.
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    guard: Option<FlushGuard>,
    state: AppState,
    _dirs: TempDir,
}

impl Gateway {
    /// Returns once the cache entries of the answers so far are on disk
    /// (the writer thread stores them after the client has the answer).
    pub async fn cache_written(&self) {
        self.state.flush_cache().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`, read as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// Scrapes `/metrics` until it mentions `needle` (records are counted
    /// when a response body ends, just after the client has it), at most
    /// [`PATIENCE`].
    pub async fn scrape_metrics_until(&self, needle: &str) -> String {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let response = self.client.get(self.url("/metrics")).send().await.unwrap();
                let text = response.text().await.unwrap();
                if text.contains(needle) {
                    return text;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the metric showed in time")
    }

    /// A POST to `/v1/chat/completions`, to add headers and a body to.
    pub fn chat_request(&self) -> reqwest::RequestBuilder {
        self.client.post(self.url("/v1/chat/completions"))
    }

    /// POSTs `body` to `/v1/chat/completions`.
    pub async fn chat(&self, body: &Value) -> reqwest::Response {
        self.chat_request().json(body).send().await.unwrap()
    }

    /// Asks `count` different questions of gpt-4.1 (not streamed), each
    /// answer read to its end (so it is stored, and the size cap applied,
    /// before the next); returns their cache keys in order.
    pub async fn ask_questions(&self, count: usize) -> Vec<String> {
        let mut keys = Vec::new();
        for n in 0..count {
            let mut body = chat_body("gpt-4.1", false);
            body["messages"][0]["content"] = serde_json::json!(format!("question {n}"));
            let response = self.chat(&body).await;
            keys.push(cache_status(&response).1);
            response.text().await.unwrap();
        }
        keys
    }

    /// Tells the server to stop without waiting for it; [`Gateway::stop`]
    /// then waits.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server (letting requests finish) and flushes the request
    /// log.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        // Dropping the guard waits for the writer thread to write the rest.
        drop(self.guard.take());
    }

    /// Stops the server and returns the current request log file.
    pub async fn stop_and_read_log(mut self) -> String {
        self.stop().await;
        std::fs::read_to_string(self.log_dir.join(REQUEST_LOG_FILE)).unwrap_or_default()
    }

    /// File names in the log folder, sorted.
    pub fn log_files(&self) -> Vec<String> {
        names_in(&self.log_dir)
    }
}

/// A response header as text, empty when it is missing.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The `x-cache` and `x-cache-key` headers.
pub fn cache_status(response: &reqwest::Response) -> (String, String) {
    (header(response, "x-cache"), header(response, "x-cache-key"))
}

/// The provider called `name` in a `/health` body.
pub fn provider<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()
}

/// Makes the entry `key` in `cache_dir` `secs` seconds older.
pub fn age_entry(cache_dir: &std::path::Path, key: &str, secs: u64) {
    let path = cache_dir.join(format!("{key}.meta.json"));
    let mut meta: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let created = meta["created_ms"].as_u64().unwrap();
    meta["created_ms"] = serde_json::json!(created - secs * 1000);
    std::fs::write(&path, meta.to_string()).unwrap();
}

/// Every name in a folder that must exist (files and folders alike),
/// sorted.
pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Names of the files in a folder (not recursive), sorted.
pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `{"model": model, "messages": [user: "hi"]}` plus `stream`.
pub fn chat_body(model: &str, stream: bool) -> Value {
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    })
}

/// The error body's `code`, checked with the status.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "error content type"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["type"].is_string());
    assert!(body["error"].as_object().unwrap().contains_key("param"));
    body
}

/// Reads an SSE body to the end and returns its text.
pub async fn read_text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}
