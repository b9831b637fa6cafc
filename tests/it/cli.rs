//! The command surface without the hubs: help, usage errors, flag combinations, run ids, and
//! the exit codes they map to.

use std::process::Command;

fn hubferry(args: &[&str], state: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hubferry"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", state)
        .env("HUBFERRY_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = hubferry(&["--help"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "migrate", "batch", "doctor", "runs", "logs", "status", "stop",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from help:\n{text}");
    }
    assert!(
        !text.contains("parse-events"),
        "hidden commands stay hidden"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["migrate"][..],
        &["migrate", "hf:a/b", "--private", "--public"],
        &["migrate", "hf:a/b", "--method", "ftp"],
        &["migrate", "hf:a/b", "--chunk-size", "1"],
        &["nonsense"],
    ] {
        let out = hubferry(args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        // With --json the usage error is also the one object on stdout.
        let out = hubferry(&[args, &["--json"]].concat(), dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stdout}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["exit_code"].as_u64()),
            (Some("error"), Some(2))
        );
        assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    }
}

#[test]
fn detach_needs_modal_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = hubferry(
        &["migrate", "hf:alice/x", "--detach", "--backend", "local"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --detach needs the Modal backend"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// batch has neither flag, so clap refuses them as usage errors (exit 2) before any credential
/// check: this environment has no Modal credentials, which would be exit 3.
#[test]
fn batch_refuses_dry_run_and_detach_as_unknown_flags_before_credentials() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--dry-run", "--detach"] {
        let out = hubferry(&["batch", "hf:alice/x", flag], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("unexpected argument '{flag}'")),
            "{stderr}"
        );
        assert!(!stderr.contains("Modal credentials"), "{stderr}");
    }
    let help = hubferry(&["batch", "--help"], dir.path());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        !text.contains("--dry-run") && !text.contains("--detach"),
        "{text}"
    );
}

#[test]
fn unknown_runs_are_bad_input_with_a_hint_and_json_errors_stay_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = hubferry(&["logs", "run-nope", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["exit_code"], 2);
    assert!(err["hint"].as_str().unwrap().contains("hubferry runs"));
    let out = hubferry(&["status", "../../etc/passwd"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = hubferry(&["runs"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no detached runs"));
}

#[test]
fn parse_events_reads_the_shared_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/events_v1.ndjson"
    );
    let out = hubferry(&["parse-events", fixture, "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invalid"], 0);
    assert!(v["events"].as_u64().unwrap() >= 9);
    assert_eq!(v["logs"], 1);
}

#[test]
fn modal_backend_without_modal_credentials_fails_fast_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hubferry"))
        .args(["migrate", "hf:alice/x"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env(
            "HUBFERRY_MODAL",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/modal"),
        )
        // Unreachable hubs: the check must come before any request.
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no Modal credentials") && stderr.contains("modal token new"),
        "{stderr}"
    );
}
