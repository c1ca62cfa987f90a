//! `llm-bridge cache …` on a real folder, and the start-up scan, run as the
//! real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::command::{bridge, run, spawn_listening, stdout};
use crate::common::*;
use crate::mock_upstream::*;

/// A cache folder with two entries; returns their keys.
pub async fn filled(dir: &Path) -> (String, String) {
    let mock = MockUpstream::start().await;
    let mut gateway = Setup::on(&mock)
        .cache_dir(&dir.join("llm_cache"))
        .start()
        .await;
    let first = gateway.chat(&chat_body("deepseek-chat", false)).await;
    let deepseek = cache_status(&first).1;
    first.text().await.unwrap();
    let second = gateway.chat(&chat_body("gpt-4.1", true)).await;
    let openai = cache_status(&second).1;
    read_text(second).await;
    gateway.stop().await;
    (deepseek, openai)
}

#[tokio::test]
async fn stats_list_show_rm_prune_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (deepseek, openai) = filled(dir.path()).await;

    let stats = run(dir.path(), &["cache", "stats"]);
    assert!(stats.status.success());
    let text = stdout(&stats);
    assert!(text.contains("entries: 2"), "{text}");
    assert!(
        text.contains("deepseek-chat") && text.contains("gpt-4.1"),
        "{text}"
    );
    assert!(
        text.contains("oldest: ") && text.contains("newest: "),
        "{text}"
    );

    let list = stdout(&run(
        dir.path(),
        &["cache", "list", "--model", "deepseek-chat"],
    ));
    assert!(
        list.contains(&deepseek) && !list.contains(&openai),
        "{list}"
    );
    let limited = stdout(&run(dir.path(), &["cache", "list", "--limit", "1"]));
    assert_eq!(
        limited.lines().count(),
        2,
        "header and one entry: {limited}"
    );
    assert!(limited.contains(&openai), "newest first: {limited}");

    let show = run(dir.path(), &["cache", "show", &deepseek]);
    assert!(show.status.success());
    let text = stdout(&show);
    assert!(text.contains("REQUEST") && text.contains("RESPONSE") && text.contains("METADATA"));
    assert!(text.contains("\"content\": \"hi\""), "{text}");
    assert!(text.contains("Hello from the mock"), "{text}");
    let missing = run(dir.path(), &["cache", "show", &"0".repeat(64)]);
    assert_eq!(missing.status.code(), Some(2));

    let removed = run(dir.path(), &["cache", "rm", &deepseek]);
    assert!(removed.status.success());
    assert!(stdout(&removed).contains(&format!("removed {deepseek}")));
    assert_eq!(
        run(dir.path(), &["cache", "rm", &deepseek]).status.code(),
        Some(1)
    );
    let bad = run(dir.path(), &["cache", "rm", "../../etc/passwd"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a cache key"));

    let pruned = stdout(&run(dir.path(), &["cache", "prune", "--older-than", "1h"]));
    assert_eq!(pruned, "removed 0 entries\n");
    age_entry(&dir.path().join("llm_cache"), &openai, 2 * 3600);
    let pruned = stdout(&run(dir.path(), &["cache", "prune", "--older-than", "1h"]));
    assert_eq!(pruned, "removed 1 entry\n");

    filled(dir.path()).await;
    let cleared = stdout(&run(dir.path(), &["cache", "clear"]));
    assert_eq!(cleared, "removed 2 entries\n");
    assert!(files_in(&dir.path().join("llm_cache")).is_empty());
}

#[tokio::test]
async fn check_finds_and_purges_what_could_never_be_served() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path()).await;
    let cache = dir.path().join("llm_cache");
    assert!(run(dir.path(), &["cache", "check"]).status.success());
    // An LLM_cache.py-era file holding an error, and a write cut short.
    std::fs::write(
        cache.join(format!("{}.txt", "ab".repeat(32))),
        r#"{"error":{"message":"quota"}}"#,
    )
    .unwrap();
    std::fs::write(
        cache.join(format!(".tmp-{}.txt.9-0", "cd".repeat(32))),
        "partial",
    )
    .unwrap();

    let broken = format!(
        "2 entries intact\n\
         1 entry could never be served:\n\
         \x20 {}: no metadata, so it is never served\n\
         1 temporary file left by an interrupted write\n",
        "ab".repeat(32)
    );
    let check = run(dir.path(), &["cache", "--cache-dir", "llm_cache", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(
        stdout(&check),
        format!("{broken}run `llm-bridge cache check --purge` to delete them\n")
    );

    let purge = run(dir.path(), &["cache", "check", "--purge"]);
    assert_eq!(purge.status.code(), Some(0));
    assert_eq!(stdout(&purge), format!("{broken}purged: 2 files removed\n"));
    let again = run(dir.path(), &["cache", "check"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), "2 entries intact\nnothing broken\n");
    assert_eq!(files_in(&cache).len(), 6);
}

#[tokio::test]
async fn check_names_what_it_found_in_the_singular_too() {
    let dir = tempfile::tempdir().unwrap();
    let (deepseek, _) = filled(dir.path()).await;
    let cache = dir.path().join("llm_cache");
    assert_eq!(
        stdout(&run(dir.path(), &["cache", "rm", &deepseek])),
        format!("removed {deepseek}\n")
    );
    // Only a leftover: nothing is an entry that could never be served.
    std::fs::write(
        cache.join(format!(".tmp-{}.meta.json.77-3", "cd".repeat(32))),
        "{",
    )
    .unwrap();
    let found = "1 entry intact\n1 temporary file left by an interrupted write\n";
    let check = run(dir.path(), &["cache", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(
        stdout(&check),
        format!("{found}run `llm-bridge cache check --purge` to delete it\n")
    );
    let purge = run(dir.path(), &["cache", "check", "--purge"]);
    assert_eq!(purge.status.code(), Some(0));
    assert_eq!(stdout(&purge), format!("{found}purged: 1 file removed\n"));
    assert_eq!(files_in(&cache).len(), 3);
}

#[tokio::test]
async fn the_server_reports_broken_entries_at_start_and_honours_the_mode_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("llm_cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(format!("{}.txt", "ef".repeat(32))), "poisoned").unwrap();
    let mut command = bridge(dir.path());
    command
        .env("LLM_BRIDGE_CACHE_MODE", "offline")
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped());
    let (mut child, base) = spawn_listening(&mut command).await;
    let stderr = child.stderr.take().unwrap();
    let warning = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("broken"))
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/chat/completions"))
        .json(&chat_body("gpt-4.1", false))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "cache_miss").await;
    let warning = tokio::time::timeout(std::time::Duration::from_secs(30), warning).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let line = warning
        .expect("the scan finished")
        .unwrap()
        .expect("a warning line");
    assert!(
        line.contains("0 entries") && line.contains("1 looks broken"),
        "{line}"
    );
}
