//! `llm-bridge keys …` run as the real binary on a real `.env`: exact
//! resulting text, permissions, masking, and refusals that leave the file
//! alone.

use std::path::Path;
use std::process::Output;

use crate::command::{bridge, folder_with, stderr, stdout};
use crate::common::names_in;

/// `llm-bridge keys ARGS` in `dir`.
fn keys(dir: &Path, args: &[&str]) -> Output {
    bridge(dir).arg("keys").args(args).output().unwrap()
}

const BEFORE: &str = "\
# Provider keys for llm-bridge

OPENAI_API_KEY=sk-old-openai
export DEEPSEEK_API_KEY='sk-old-deepseek'
ACCESS_API_KEYS=team-a,team-b
# OPENAI_API_KEY=sk-commented-out
OPENAI_API_KEY=sk-stale-duplicate
LLM_BRIDGE_LISTEN=127.0.0.1:6688";

#[test]
fn set_replaces_in_place_and_keeps_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, BEFORE).unwrap();
    let output = keys(
        dir.path(),
        &[
            "set",
            "OPENAI_API_KEY=sk-new-openai-1111",
            "DEEPSEEK_API_KEY=new deepseek #2",
            "QWEN_API_KEY=it's $ecret",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "updated OPENAI_API_KEY, DEEPSEEK_API_KEY, added QWEN_API_KEY in .env\n"
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "\
# Provider keys for llm-bridge

OPENAI_API_KEY=sk-new-openai-1111
export DEEPSEEK_API_KEY='new deepseek #2'
ACCESS_API_KEYS=team-a,team-b
# OPENAI_API_KEY=sk-commented-out
LLM_BRIDGE_LISTEN=127.0.0.1:6688
QWEN_API_KEY=\"it's \\$ecret\"
"
    );
    let read: Vec<(String, String)> = dotenvy::from_path_iter(&env)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let value = |name: &str| read.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("DEEPSEEK_API_KEY"), "new deepseek #2");
    assert_eq!(value("QWEN_API_KEY"), "it's $ecret");
    // No temporary file is left behind.
    assert_eq!(names_in(dir.path()), [".env"]);
}

#[test]
fn set_keeps_crlf_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, "A=1\r\nB=2\r\n").unwrap();
    let output = keys(dir.path(), &["set", "A=", "C=3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "A=\r\nB=2\r\nC=3\r\n"
    );
}

#[test]
fn set_creates_a_missing_file_readable_by_its_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let output = keys(
        dir.path(),
        &["set", "--env-file", "conf/keys.env", "GEMINI_API_KEY=g-123"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "added GEMINI_API_KEY in conf/keys.env (new file)\n"
    );
    let file = dir.path().join("conf/keys.env");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "GEMINI_API_KEY=g-123\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(names_in(&dir.path().join("conf")), ["keys.env"]);
    assert!(!dir.path().join(".env").exists());
}

#[test]
fn the_file_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let output = bridge(dir.path())
        .env("LLM_BRIDGE_ENV_FILE", "other.env")
        .args(["keys", "set", "A=1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("other.env")).unwrap(),
        "A=1\n"
    );
}

#[test]
fn unset_removes_every_line_of_each_name() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, BEFORE).unwrap();
    let output = keys(
        dir.path(),
        &["unset", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "NEVER_SET"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "removed OPENAI_API_KEY, DEEPSEEK_API_KEY from .env; not set there: NEVER_SET\n"
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "\
# Provider keys for llm-bridge

ACCESS_API_KEYS=team-a,team-b
# OPENAI_API_KEY=sk-commented-out
LLM_BRIDGE_LISTEN=127.0.0.1:6688"
    );
    assert_eq!(names_in(dir.path()), [".env"]);

    let output = keys(dir.path(), &["unset", "NEVER_SET"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "not set in .env: NEVER_SET; nothing changed\n"
    );
}

#[test]
fn list_masks_every_value() {
    let dir = folder_with(
        ".env",
        "# keys\nOPENAI_API_KEY=sk-proj-SECRETSECRET1111\nexport QWEN_API_KEY='short'\nEMPTY=\nOPENAI_API_KEY=sk-later\n",
    );
    let output = keys(dir.path(), &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "OPENAI_API_KEY  sk-…1111\nQWEN_API_KEY    ****\nEMPTY           (empty)\n"
    );
    for shown in [stdout(&output), stderr(&output)] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("short"),
            "{shown}"
        );
    }
}

#[test]
fn list_names_the_line_dotenvy_stops_at() {
    let dir = folder_with(
        "keys.env",
        "A=sk-aaaaaaaaaaaaaaaa\nB=oops sk-SECRET-in-a-bad-line\nC=1\n",
    );
    let output = keys(dir.path(), &["list", "--env-file", "keys.env"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "A  sk-…aaaa\n");
    let error = stderr(&output);
    assert!(error.contains("keys.env:2"), "{error}");
    assert!(!error.contains("SECRET"), "{error}");
}

#[test]
fn set_and_unset_warn_when_the_environment_shadows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        bridge(dir.path())
            .env("OPENAI_API_KEY", "sk-from-shell-1111")
            .env("QWEN_API_KEY", "sk-same-2222")
            .arg("keys")
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "set",
        "OPENAI_API_KEY=sk-new-openai-1111",
        "QWEN_API_KEY=sk-same-2222",
        "GEMINI_API_KEY=g-1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "added OPENAI_API_KEY, QWEN_API_KEY, GEMINI_API_KEY in .env (new file)\n"
    );
    assert_eq!(
        stderr(&output),
        "llm-bridge: warning: OPENAI_API_KEY is set in the environment, so its value in .env is \
         not used (unset it there, or restart without it)\n",
        "the same value (QWEN_API_KEY) and a name the environment lacks are no cause for one"
    );

    let output = run(&["unset", "OPENAI_API_KEY", "GEMINI_API_KEY"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "llm-bridge: warning: OPENAI_API_KEY is set in the environment, so it stays set without \
         .env (unset it there, or restart without it)\n"
    );
}

#[test]
fn list_reports_a_broken_env_once() {
    let dir = folder_with(
        ".env",
        "A=sk-aaaaaaaaaaaaaaaa\nB='sk-SECRET-unterminated\nC=1\n",
    );
    let output = keys(dir.path(), &["list"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "llm-bridge: .env:2: cannot be parsed; it and the lines after it are not loaded\n"
    );
}

#[test]
fn bad_input_exits_2_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, BEFORE).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["set", "OPENAI-KEY=sk-SECRET"], "OPENAI-KEY"),
        (&["set", "A=1", "1ST=sk-SECRET"], "argument 2"),
        (&["set", "A=sk-SECRET\nB=2"], "line break"),
        (&["set", "A=1", "sk-SECRET"], "argument 2 has no `=`"),
        (&["set", "--OPENAI_API_KEY=sk-SECRET"], "--OPENAI_API_KEY"),
        (&["unset", "A", "B.C"], "B.C"),
    ];
    for (args, expected) in cases {
        let output = keys(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = stderr(&output);
        assert!(error.contains(expected), "{args:?}: {error}");
        assert!(!error.contains("SECRET"), "{args:?}: {error}");
        assert_eq!(stdout(&output), "", "{args:?}");
        assert_eq!(std::fs::read_to_string(&env).unwrap(), BEFORE, "{args:?}");
    }
    assert_eq!(names_in(dir.path()), [".env"]);
}
