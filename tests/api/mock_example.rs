//! `examples/mock_upstream.rs` run as the README tells a new user to run
//! it: `--help`, bad options, and starting on a free port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The example's binary, which `cargo test` builds beside the test binary
/// (`target/<profile>/examples/`). A run that built only this test binary
/// (`cargo test --test api`) may find an old one: say so rather than test it.
fn example() -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("mock_upstream{}", std::env::consts::EXE_SUFFIX));
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/mock_upstream.rs");
    let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match (modified(&binary), modified(&source)) {
        (Some(built), Some(written)) if built >= written => binary,
        _ => panic!(
            "{} is missing or older than its source: run `cargo build --example mock_upstream` \
             (plain `cargo test` builds it)",
            binary.display()
        ),
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn help_lists_every_option_with_its_default() {
    for flag in ["--help", "-h"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert!(output.stderr.is_empty(), "{flag}");
        let help = String::from_utf8(output.stdout).unwrap();
        for expected in [
            "Usage: mock_upstream [OPTIONS]",
            "--listen ADDR",
            "[default: 127.0.0.1:9000]",
            "--chunks N",
            "[default: 3]",
            "--chunk-delay-ms MS",
            "[default: 0]",
            "-h, --help",
        ] {
            assert!(help.contains(expected), "{expected} missing:\n{help}");
        }
    }
}

#[test]
fn bad_options_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--bogus"],
            "mock_upstream: unknown option `--bogus`; see --help",
        ),
        (&["--port", "9000"], "unknown option `--port`"),
        (&["--chunks"], "--chunks needs a value; see --help"),
        (
            &["--chunks", "many"],
            "--chunks takes a whole number, not `many`; see --help",
        ),
        (
            &["--chunk-delay-ms=-5"],
            "--chunk-delay-ms takes a whole number, not `-5`",
        ),
        (
            &["--listen", "nowhere"],
            "--listen takes an address such as 127.0.0.1:9000, not `nowhere`",
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.ends_with("; see --help\n"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn starts_on_a_free_port_with_options() {
    let mut child = Command::new(example())
        .args([
            "--listen=127.0.0.1:0",
            "--chunks",
            "2",
            "--chunk-delay-ms",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("mock upstream listening on http://127.0.0.1:"),
        "{line}"
    );
}
