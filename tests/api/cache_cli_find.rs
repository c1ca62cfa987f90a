//! How `llm-bridge cache …` finds what it works on: the folder (which must
//! exist) and entries by model name in every form.

use std::path::Path;

use crate::cache_cli::{bridge, filled, stderr, stdout};

/// The keys `cache list` printed, in order.
fn listed_keys(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
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
        let output = bridge(dir.path(), &["cache", "list", "--model", model]);
        assert_eq!(output.status.code(), Some(0), "{model}");
        assert_eq!(listed_keys(&stdout(&output)), expected, "{model}");
    }
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
        let output = bridge(dir.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert_eq!(stdout(&output), "", "{command:?}");
        assert_eq!(
            stderr(&output),
            format!("llm-bridge: cache folder {nowhere} does not exist\n"),
            "{command:?}"
        );
        // The default folder, from no flag at all.
        let output = bridge(dir.path(), &[&["cache"], command].concat());
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
    let output = bridge(dir.path(), &["cache", "--cache-dir", "a-file", "stats"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "llm-bridge: a-file is not a folder, so it cannot be the cache folder\n"
    );
}
