//! The command surface without the hubs: help, usage errors, flag combinations, run ids, and
//! the exit codes they map to.

use crate::our_snapshot;
use crate::support::TestContext;

#[test]
fn help_lists_every_command() {
    let ctx = TestContext::offline();
    let out = ctx.run(&["--help"]);
    // Every command is listed (migrate, batch, doctor, runs, logs, status, stop…); hidden ones
    // (parse-events) stay hidden.
    our_snapshot!(ctx, "help", out);
    let out = ctx.run(&["migrate", "--help"]);
    our_snapshot!(ctx, "migrate_help", out);
}

#[test]
fn usage_errors_exit_2() {
    let ctx = TestContext::offline();
    for args in [
        &["migrate"][..],
        &["migrate", "hf:a/b", "--private", "--public"],
        &["migrate", "hf:a/b", "--method", "ftp"],
        &["migrate", "hf:a/b", "--chunk-size", "1"],
        &["nonsense"],
    ] {
        let out = ctx.run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out}");
        assert!(out.stdout.is_empty(), "{args:?}");
        // With --json the usage error is also the one object on stdout.
        let out = ctx.run(&[args, &["--json"]].concat());
        assert_eq!(out.code, Some(2), "{args:?}");
        let lines = out.json_lines();
        assert_eq!(lines.len(), 1, "{args:?}: {out}");
        let v = &lines[0];
        assert_eq!(
            (v["type"].as_str(), v["exit_code"].as_u64()),
            (Some("error"), Some(2))
        );
        assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    }
}

#[test]
fn detach_needs_modal_and_says_so() {
    let ctx = TestContext::offline();
    let out = ctx.run(&["migrate", "hf:alice/x", "--detach", "--backend", "local"]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: --detach needs the Modal backend

    hint: drop --backend local (a detached run keeps going on Modal after hubferry exits)
    ");
}

/// batch has neither flag, so clap refuses them as usage errors (exit 2) before any credential
/// check: this environment has no Modal credentials, which would be exit 3.
#[test]
fn batch_refuses_dry_run_and_detach_as_unknown_flags_before_credentials() {
    let ctx = TestContext::offline();
    for flag in ["--dry-run", "--detach"] {
        let out = ctx.run(&["batch", "hf:alice/x", flag]);
        assert_eq!(out.code, Some(2), "{out}");
        assert!(
            out.stderr
                .contains(&format!("unexpected argument '{flag}'")),
            "{out}"
        );
        assert!(!out.stderr.contains("Modal credentials"), "{out}");
    }
    let help = ctx.run(&["batch", "--help"]);
    assert!(
        !help.stdout.contains("--dry-run") && !help.stdout.contains("--detach"),
        "{help}"
    );
}

#[test]
fn unknown_runs_are_bad_input_with_a_hint_and_json_errors_stay_on_stdout() {
    let ctx = TestContext::offline();
    let out = ctx.run(&["logs", "run-nope", "--json"]);
    assert_eq!(out.code, Some(2));
    let err = out.last_json();
    assert_eq!(err["type"], "error");
    assert_eq!(err["exit_code"], 2);
    assert!(err["hint"].as_str().unwrap().contains("hubferry runs"));
    let out = ctx.run(&["status", "../../etc/passwd"]);
    assert_eq!(out.code, Some(2));
    let out = ctx.run(&["runs"]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    no detached runs recorded (start one with `hubferry migrate … --detach`)
    ----- stderr -----
    ");
}

#[test]
fn parse_events_reads_the_shared_fixture() {
    let ctx = TestContext::offline();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/events_v1.ndjson"
    );
    let out = ctx.run(&["parse-events", fixture, "--json"]);
    assert_eq!(out.code, Some(0));
    let v = out.last_json();
    assert_eq!(v["invalid"], 0);
    assert!(v["events"].as_u64().unwrap() >= 9);
    assert_eq!(v["logs"], 1);
}

#[test]
fn modal_backend_without_modal_credentials_fails_fast_with_exit_3() {
    // The hubs do not answer: the check must come before any request.
    let ctx = TestContext::offline();
    let out = ctx.run_with_env(
        &["migrate", "hf:alice/x"],
        &[("MODAL_TOKEN_ID", None), ("MODAL_TOKEN_SECRET", None)],
    );
    our_snapshot!(ctx, out, @"
    exit: 3
    ----- stdout -----
    ----- stderr -----
    error: no Modal credentials (MODAL_TOKEN_ID/MODAL_TOKEN_SECRET or ~/.modal.toml)

    hint: run `modal token new` (or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), or use --backend local
    ");
}
