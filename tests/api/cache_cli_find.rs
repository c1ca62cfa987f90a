//! How `llm-bridge cache …` finds what it works on: the folder (which must
//! exist), entries by model name in every form, and entries by a unique
//! start of their key.

use std::path::Path;

use serde_json::{Value, json};

use crate::cache_cli::filled;
use crate::command::{run, stderr, stdout};

/// The keys `cache list` printed, in order.
fn listed_keys(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Copies entry `from` to a new, valid entry under the key `to`.
fn copy_entry(cache: &Path, from: &str, to: &str) {
    for suffix in [".txt", ".request"] {
        std::fs::copy(
            cache.join(format!("{from}{suffix}")),
            cache.join(format!("{to}{suffix}")),
        )
        .unwrap();
    }
    let text = std::fs::read_to_string(cache.join(format!("{from}.meta.json"))).unwrap();
    let mut meta: Value = serde_json::from_str(&text).unwrap();
    meta["key"] = json!(to);
    std::fs::write(cache.join(format!("{to}.meta.json")), meta.to_string()).unwrap();
}

#[tokio::test]
async fn list_takes_the_model_as_routed_as_written_or_as_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let (deepseek, openai) = filled(dir.path()).await;
    for (model, expected) in [
        ("openai/gpt-4.1", vec![openai.clone()]),
        ("gpt-4.1", vec![openai.clone()]),
        ("deepseek/deepseek-chat", vec![deepseek.clone()]),
        ("deepseek-chat", vec![deepseek.clone()]),
        ("openai/deepseek-chat", vec![]),
        ("deepseek/", vec![]),
    ] {
        let output = run(dir.path(), &["cache", "list", "--model", model]);
        assert_eq!(output.status.code(), Some(0), "{model}");
        assert_eq!(listed_keys(&stdout(&output)), expected, "{model}");
    }
}

#[tokio::test]
async fn show_and_rm_take_a_unique_start_of_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (deepseek, openai) = filled(dir.path()).await;
    let cache = dir.path().join("llm_cache");
    let whole = run(dir.path(), &["cache", "show", &deepseek]);
    assert_eq!(whole.status.code(), Some(0));
    for start in [
        deepseek[..8].to_string(),
        deepseek[..20].to_ascii_uppercase(),
    ] {
        let short = run(dir.path(), &["cache", "show", &start]);
        assert_eq!(short.status.code(), Some(0), "{start}: {}", stderr(&short));
        assert_eq!(stdout(&short), stdout(&whole), "{start}");
    }

    // Two entries whose keys start alike.
    let twins = ["0", "1"].map(|d| format!("abcdef01{}", d.repeat(56)));
    for twin in &twins {
        copy_entry(&cache, &openai, twin);
    }
    for (arg, message) in [
        (
            "abcdef0",
            "`abcdef0` is too short: give at least 8 hex digits of the key",
        ),
        (
            "abcdefgh",
            "`abcdefgh` is not a cache key (64 hex digits, from x-cache-key) nor the start of one",
        ),
        (
            "abcdef01",
            "`abcdef01` is the start of 2 entries' keys: give more digits",
        ),
    ] {
        for command in ["show", "rm"] {
            let output = run(dir.path(), &["cache", command, arg]);
            assert_eq!(output.status.code(), Some(2), "{command} {arg}");
            assert_eq!(stdout(&output), "", "{command} {arg}");
            assert_eq!(stderr(&output), format!("llm-bridge: {message}\n"));
        }
    }
    let nothing = run(dir.path(), &["cache", "show", "abcdef02"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert_eq!(
        stderr(&nothing),
        "llm-bridge: no entry's key starts with abcdef02\n"
    );

    // A bad key among good ones removes nothing.
    let refused = run(dir.path(), &["cache", "rm", &deepseek[..8], "abcdef01"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(cache.join(format!("{deepseek}.meta.json")).exists());
    let removed = run(dir.path(), &["cache", "rm", "abcdef010", &deepseek[..8]]);
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    assert_eq!(
        stdout(&removed),
        format!("removed {}\nremoved {deepseek}\n", twins[0])
    );
    let missing = run(dir.path(), &["cache", "rm", "abcdef02"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stdout(&missing), "no entry's key starts with abcdef02\n");
    // One twin left: its start is unique now.
    let last = run(dir.path(), &["cache", "show", "abcdef01"]);
    assert_eq!(last.status.code(), Some(0), "{}", stderr(&last));
}

#[test]
fn every_command_refuses_a_folder_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let key = "ab".repeat(32);
    let nowhere = dir.path().join("nonexistent");
    let nowhere = nowhere.to_str().unwrap();
    let commands: [&[&str]; 8] = [
        &["stats"],
        &["list"],
        &["show", &key],
        &["check"],
        &["check", "--purge"],
        &["rm", &key],
        &["clear"],
        &["prune", "--older-than", "0s"],
    ];
    for command in commands {
        let mut args = vec!["cache", "--cache-dir", nowhere];
        args.extend_from_slice(command);
        let output = run(dir.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert_eq!(stdout(&output), "", "{command:?}");
        assert_eq!(
            stderr(&output),
            format!("llm-bridge: cache folder {nowhere} does not exist\n"),
            "{command:?}"
        );
        // The default folder, from no flag at all.
        let output = run(dir.path(), &[&["cache"], command].concat());
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert_eq!(
            stderr(&output),
            "llm-bridge: cache folder llm_cache does not exist\n"
        );
    }
    assert!(!Path::new(nowhere).exists(), "nothing was created");
    assert!(
        !dir.path().join("llm_cache").exists(),
        "nothing was created"
    );

    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let output = run(dir.path(), &["cache", "--cache-dir", "a-file", "stats"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "llm-bridge: a-file is not a folder, so it cannot be the cache folder\n"
    );
}
