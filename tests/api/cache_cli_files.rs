//! Files in the cache folder that are not the cache's own (notes, settings,
//! look-alike names, subfolders) survive everything that deletes:
//! `cache check --purge`, `cache clear`, `cache prune` and the server's
//! eviction past `[cache] max_total_bytes`.

use std::path::Path;

use crate::cache_cli::filled;
use crate::command::{run, stdout};
use crate::common::*;
use crate::mock_upstream::*;

/// Files that are not the cache's, sorted as `check` lists them.
fn foreign_names() -> Vec<String> {
    let key = "cd".repeat(32);
    let mut names = vec![
        format!(".tmp-{key}.txt"),
        ".tmp-notes.txt.1-0".to_string(),
        format!("{}.txt", "AB".repeat(32)),
        format!("{key}.txt.bak"),
        "notes.txt".to_string(),
        "settings.meta.json".to_string(),
        "todo.request".to_string(),
    ];
    names.sort();
    names
}

/// Subfolder files, relative to the cache folder.
const NESTED: [&str; 2] = ["broken/kept.txt", "mine/notes.txt"];

/// Puts the foreign files and subfolders into `cache`.
fn plant(cache: &Path) {
    std::fs::create_dir_all(cache.join("broken")).unwrap();
    std::fs::create_dir_all(cache.join("mine")).unwrap();
    for name in foreign_names().iter().map(String::as_str).chain(NESTED) {
        std::fs::write(cache.join(name), format!("mine: {name}")).unwrap();
    }
}

/// Every planted file is still there, unchanged.
fn assert_planted(cache: &Path) {
    for name in foreign_names().iter().map(String::as_str).chain(NESTED) {
        let text = std::fs::read_to_string(cache.join(name));
        assert_eq!(text.ok(), Some(format!("mine: {name}")), "{name}");
    }
}

fn foreign_section() -> String {
    let mut text = "7 files not made by llm-bridge, left alone:\n".to_string();
    for name in foreign_names() {
        text.push_str(&format!("  {name}\n"));
    }
    text
}

#[tokio::test]
async fn check_lists_them_apart_and_purge_leaves_them() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path()).await;
    let cache = dir.path().join("llm_cache");
    plant(&cache);
    let only_foreign = run(dir.path(), &["cache", "check"]);
    assert_eq!(only_foreign.status.code(), Some(0));
    assert_eq!(
        stdout(&only_foreign),
        format!("2 entries intact\nnothing broken\n{}", foreign_section())
    );

    let orphan = "ef".repeat(32);
    std::fs::write(cache.join(format!("{orphan}.request")), "{}").unwrap();
    let leftover = format!(".tmp-{orphan}.txt.12-0");
    std::fs::write(cache.join(&leftover), "partial").unwrap();
    let found = format!(
        "2 entries intact\n1 entry could never be served:\n  {orphan}: no metadata, so it is \
         never served\n1 temporary file left by an interrupted write\n{}",
        foreign_section()
    );
    let check = run(dir.path(), &["cache", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(
        stdout(&check),
        format!("{found}run `llm-bridge cache check --purge` to delete them\n")
    );
    let purge = run(dir.path(), &["cache", "check", "--purge"]);
    assert_eq!(purge.status.code(), Some(0));
    assert_eq!(stdout(&purge), format!("{found}purged: 2 files removed\n"));
    assert_planted(&cache);
    assert!(!cache.join(&leftover).exists());
    assert!(!cache.join(format!("{orphan}.request")).exists());
}

#[tokio::test]
async fn clear_and_prune_leave_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("llm_cache");
    filled(dir.path()).await;
    plant(&cache);
    let pruned = run(dir.path(), &["cache", "prune", "--older-than", "0s"]);
    assert_eq!(pruned.status.code(), Some(0));
    assert_eq!(stdout(&pruned), "removed 2 entries\n");
    assert_planted(&cache);
    assert_eq!(files_in(&cache), foreign_names(), "only the entries went");

    filled(dir.path()).await;
    let cleared = run(dir.path(), &["cache", "clear"]);
    assert_eq!(cleared.status.code(), Some(0));
    assert_eq!(stdout(&cleared), "removed 2 entries\n");
    assert_planted(&cache);
    assert_eq!(files_in(&cache), foreign_names());
}

#[tokio::test]
async fn eviction_past_the_size_cap_leaves_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("llm_cache");
    plant(&cache);
    let mock = MockUpstream::start().await;
    let mut gateway = Setup::on(&mock)
        .cache_dir(&cache)
        .config("[cache]\nmax_total_bytes = 4000")
        .start()
        .await;
    let keys = gateway.ask_questions(6).await;
    gateway.stop().await;
    assert!(
        !cache.join(format!("{}.meta.json", keys[0])).exists(),
        "the oldest entry was evicted"
    );
    assert!(cache.join(format!("{}.meta.json", keys[5])).exists());
    assert_planted(&cache);
}
