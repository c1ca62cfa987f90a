//! A streaming client for the benchmark (`bench/run.sh`): measures time to
//! first token and holds many streams open at once.
//!
//! ```text
//! cargo run --release --example stream_probe -- --url URL --mode ttfb [--count 200] [--warmup 10]
//! cargo run --release --example stream_probe -- --url URL --mode concurrent [--count 1000]
//! ```
//! `URL` is a full `…/v1/chat/completions` address (the mock upstream's or
//! llm-bridge's). Every request is `{"model": MODEL, "messages": […],
//! "stream": true}` over HTTP/1.1; with `--unique` each asks something new
//! (so a cache misses every time).
//!
//! * `ttfb`: `--count` streams one after another on one kept-alive
//!   connection (after `--warmup` unmeasured ones). For each it measures, from
//!   just before the request is sent:
//!   - `headers`: until the response status and headers arrived;
//!   - `first_event`: until the first complete SSE event (`…\n\n`) arrived,
//!     i.e. the role chunk;
//!   - `first_content`: until the first complete SSE event whose JSON has a
//!     non-empty string at `choices[0].delta.content` arrived: the first
//!     token. This is the headline figure.
//!
//!   Each stream is read to its end and must end with `data: [DONE]`.
//! * `concurrent`: opens `--count` streams at once (one connection each),
//!   reads every one to its end and checks it answered 200 and ended with
//!   `data: [DONE]`.
//! * `big`: sends `--count` non-streamed requests of about `--bytes` each
//!   at once and counts the answers by status (`status_503=43`).
//!
//! Output is `key=value` lines (times in milliseconds) for scripts, e.g.
//! `first_content_p50_ms=41.234`. The exit status is 1 when any stream
//! failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Sequential streams: time to first token.
    Ttfb,
    /// Many streams at once: do they all complete?
    Concurrent,
    /// Many large non-streamed requests at once: how are they answered?
    Big,
}

#[derive(Debug, Parser)]
#[command(about = "Streaming probe for bench/run.sh")]
struct Args {
    /// Full chat completions URL.
    #[arg(long)]
    url: String,
    /// What to measure.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Measured streams (ttfb) or simultaneous streams (concurrent).
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Unmeasured streams sent first in ttfb mode.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Model name sent in the request.
    #[arg(long, default_value = "gpt-4.1")]
    model: String,
    /// Every request asks something new (a counter in the message), so a
    /// gateway with its cache on misses every time.
    #[arg(long)]
    unique: bool,
    /// Size of each request body in `big` mode, in bytes.
    #[arg(long, default_value_t = 9_000_000)]
    bytes: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

/// What one stream looked like.
#[derive(Debug, Default)]
struct StreamTimes {
    headers: Duration,
    first_event: Option<Duration>,
    first_content: Option<Duration>,
    total: Duration,
    events: usize,
}

fn main() {
    let args = Args::parse();
    // reqwest is built without a bundled crypto provider (as in llm-bridge);
    // only plain http:// is used, but the client builder wants one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One thread: the probe should take as little CPU from the measured
    // processes as possible, and one thread easily keeps up.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .no_proxy()
            .timeout(Duration::from_secs(args.timeout_s))
            .pool_max_idle_per_host(args.count.max(1))
            .build()
            .unwrap();
        let body = Arc::new(json!({
            "model": args.model,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
        }));
        match args.mode {
            Mode::Ttfb => ttfb(&client, &args, &body).await,
            Mode::Concurrent => concurrent(&client, &args, &body).await,
            Mode::Big => big(&client, &args).await,
        }
    });
    if !ok {
        std::process::exit(1);
    }
}

async fn ttfb(client: &reqwest::Client, args: &Args, body: &Value) -> bool {
    let mut headers = Vec::with_capacity(args.count);
    let mut first_event = Vec::with_capacity(args.count);
    let mut first_content = Vec::with_capacity(args.count);
    let mut failed = 0usize;
    let nonce = nonce();
    for i in 0..args.warmup + args.count {
        let asked = asked(args, body, nonce, i);
        match one_stream(client, &args.url, &asked).await {
            Ok(times) if i >= args.warmup => {
                headers.push(ms(times.headers));
                first_event.push(ms(times.first_event.unwrap_or(times.total)));
                match times.first_content {
                    Some(t) => first_content.push(ms(t)),
                    None => {
                        eprintln!("stream {i}: no content chunk");
                        failed += 1;
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("stream {i}: {error}");
                failed += 1;
            }
        }
    }
    println!("mode=ttfb");
    println!("count={}", first_content.len());
    println!("failed={failed}");
    print_percentiles("headers", &mut headers);
    print_percentiles("first_event", &mut first_event);
    print_percentiles("first_content", &mut first_content);
    failed == 0
}

async fn concurrent(client: &reqwest::Client, args: &Args, body: &Value) -> bool {
    let started = Instant::now();
    let nonce = nonce();
    let tasks: Vec<_> = (0..args.count)
        .map(|i| {
            let client = client.clone();
            let url = args.url.clone();
            let body = asked(args, body, nonce, i);
            tokio::spawn(async move { one_stream(&client, &url, &body).await })
        })
        .collect();
    let mut completed = 0usize;
    let mut failed = 0usize;
    let mut events = 0usize;
    let mut durations = Vec::with_capacity(args.count);
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(times)) => {
                completed += 1;
                events += times.events;
                durations.push(ms(times.total));
            }
            Ok(Err(error)) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
            Err(join_error) => {
                failed += 1;
                first_error.get_or_insert(join_error.to_string());
            }
        }
    }
    let wall = started.elapsed();
    println!("mode=concurrent");
    println!("requested={}", args.count);
    println!("completed={completed}");
    println!("failed={failed}");
    println!("events={events}");
    println!("wall_ms={:.1}", ms(wall));
    print_percentiles("stream", &mut durations);
    if let Some(error) = first_error {
        println!("first_error={}", error.replace('\n', " "));
    }
    failed == 0
}

/// Sends `--count` non-streamed requests of about `--bytes` each at once
/// (each asking something new) and counts the answers by status.
async fn big(client: &reqwest::Client, args: &Args) -> bool {
    let nonce = nonce();
    let filler = "x".repeat(args.bytes);
    let tasks: Vec<_> = (0..args.count)
        .map(|i| {
            let body = json!({
                "model": args.model,
                "messages": [{"role": "user", "content": format!("{nonce} {i} {filler}")}],
            })
            .to_string();
            let client = client.clone();
            let url = args.url.clone();
            tokio::spawn(async move {
                let response = client.post(&url).header("content-type", "application/json");
                match response.body(body).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                }
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for task in tasks {
        let status = match task.await {
            Ok(Some(status)) => status.to_string(),
            _ => "failed".to_string(),
        };
        *statuses.entry(status).or_default() += 1;
    }
    println!("mode=big");
    println!("requested={}", args.count);
    for (status, count) in &statuses {
        println!("status_{status}={count}");
    }
    !statuses.contains_key("failed")
}

/// A number for this run, so `--unique` bodies differ from earlier runs'.
fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Request `i`'s body: `body`, or with `--unique` its message made new.
fn asked(args: &Args, body: &Value, nonce: u128, i: usize) -> Value {
    let mut body = body.clone();
    if args.unique {
        body["messages"][0]["content"] = Value::String(format!("hi {nonce} {i}"));
    }
    body
}

/// Sends one streamed request and reads it to its end.
async fn one_stream(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> Result<StreamTimes, String> {
    let start = Instant::now();
    let mut response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("send: {e:?}"))?;
    let mut times = StreamTimes {
        headers: start.elapsed(),
        ..StreamTimes::default()
    };
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("status {status}: {text}"));
    }
    // Bytes not yet part of a complete event.
    let mut pending: Vec<u8> = Vec::with_capacity(1024);
    let mut last_event: Vec<u8> = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Err(format!("body after {} events: {e:?}", times.events)),
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = find(&pending, b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            let now = start.elapsed();
            times.events += 1;
            times.first_event.get_or_insert(now);
            if times.first_content.is_none() && has_content(&event) {
                times.first_content = Some(now);
            }
            last_event = event;
        }
    }
    times.total = start.elapsed();
    if last_event.trim_ascii() != b"data: [DONE]" || !pending.trim_ascii().is_empty() {
        return Err(format!(
            "stream did not end with data: [DONE] (last event {:?})",
            String::from_utf8_lossy(&last_event)
        ));
    }
    Ok(times)
}

/// Whether an SSE event carries a non-empty `choices[0].delta.content`.
fn has_content(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else {
        return false;
    };
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .any(|value| {
            value["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|content| !content.is_empty())
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints `NAME_pP_ms=` lines (nearest-rank percentiles) plus the mean.
fn print_percentiles(name: &str, values: &mut [f64]) {
    if values.is_empty() {
        return;
    }
    values.sort_by(f64::total_cmp);
    for p in [50.0, 90.0, 99.0] {
        println!("{name}_p{p}_ms={:.3}", percentile(values, p));
    }
    println!("{name}_max_ms={:.3}", values[values.len() - 1]);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    println!("{name}_mean_ms={mean:.3}");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
