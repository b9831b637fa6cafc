//! `logs RUN [-f]` rebuilds a detached run from a log history longer than Modal's default page of
//! 100 entries, to the same verified report, whether `modal app logs -f` replays history (a Modal
//! stand-in started with `--logs-follow-replays`) or follows from the moment it connects (the
//! shared world's stand-in, the notes' reading of Modal).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{root, unique, Output, TestContext};

/// Small shards: each is one `file` event, so the history runs well past 100 entries.
const EXTRA_FILES: &str = "130";

/// A Modal stand-in of this test's own, stopped when dropped.
struct ModalSim {
    child: Child,
    url: String,
    _state: tempfile::TempDir,
}

impl ModalSim {
    fn start(extra: &[&str]) -> Self {
        let state = tempfile::Builder::new()
            .prefix("hubferry-it-modalsim-")
            .tempdir()
            .unwrap();
        let mut child = Command::new(root().join("scripts/modal-sim"))
            .arg("--state")
            .arg(state.path().join("state"))
            .args(extra)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(state.path().join("modal-sim.log")).unwrap())
            .spawn()
            .expect("starting scripts/modal-sim");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("modal-sim ready line `{line}`: {e}"));
        std::thread::spawn(move || for _ in stdout.lines() {});
        Self {
            child,
            url: ready["modal_server_url"].as_str().unwrap().to_owned(),
            _state: state,
        }
    }
}

impl Drop for ModalSim {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = crate::support::wait_bounded(&mut self.child, Duration::from_secs(10));
        let _ = self.child.kill();
    }
}

fn run(ctx: &TestContext, modal_url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = ctx.command(args);
    if let Some(url) = modal_url {
        cmd.env("MODAL_SERVER_URL", url);
    }
    ctx.run_command(cmd, Duration::from_secs(180))
}

/// Every file of the run appears once among the rebuilt `file` events, and the report is verified.
fn assert_rebuilt(out: &Output, run_id: &str, seeded: &Value) {
    assert_eq!(out.code, Some(0), "{out}");
    let files = seeded["files"].as_object().unwrap();
    let mut paths: Vec<String> = out
        .of_type("file")
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    let events = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(
        events,
        paths.len(),
        "a file event was passed on twice\n{out}"
    );
    let mut expected: Vec<String> = files.keys().cloned().collect();
    expected.sort();
    assert_eq!(paths, expected, "{out}");
    let seqs: Vec<u64> = out
        .json_lines()
        .iter()
        .filter(|e| e["hubferry"] == 1)
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert!(seqs.len() > 100, "the history is longer than one page");
    let mut unique_seqs = seqs.clone();
    unique_seqs.sort_unstable();
    unique_seqs.dedup();
    assert_eq!(unique_seqs.len(), seqs.len(), "one job: every seq once");
    assert_eq!(unique_seqs.first(), Some(&1));
    assert_eq!(*unique_seqs.last().unwrap(), seqs.len() as u64, "no gaps");
    let r = out.ok_report();
    assert_eq!(r["run_id"], run_id);
    assert_eq!(r["files_moved"], files.len() as u64, "{out}");
    assert_eq!(r["bytes_moved"], seeded["bytes"], "{out}");
    assert_eq!(r["verified"], true);
}

fn logs_rebuild_a_long_history(modal_url: Option<&str>) {
    let ctx = TestContext::new();
    let repo = unique("it-logs");
    let seeded = ctx.seed(
        "hf",
        &format!("alice/{repo}"),
        &["--lfs-mb", "0.02", "--extra-files", EXTRA_FILES],
    );
    let out = run(
        &ctx,
        modal_url,
        &["migrate", &format!("hf:alice/{repo}"), "--detach", "--json"],
    );
    assert_eq!(out.code, Some(0), "{out}");
    let run_id = out.last_json()["run_id"].as_str().unwrap().to_owned();

    // Followed while it runs: history so far, then live, overlapping.
    let followed = run(&ctx, modal_url, &["logs", &run_id, "-f", "--json"]);
    assert_rebuilt(&followed, &run_id, &seeded);
    // Read once it is over: the whole history by time range.
    let snapshot = run(&ctx, modal_url, &["logs", &run_id, "--json"]);
    assert_rebuilt(&snapshot, &run_id, &seeded);
    assert_eq!(
        followed.ok_report()["files_moved"],
        snapshot.ok_report()["files_moved"]
    );

    let argv = ctx.argv_log();
    assert!(
        argv.iter()
            .any(|l| l.starts_with("modal app logs ap-") && l.contains(" --since ")),
        "{argv:?}"
    );
    ctx.assert_no_canaries();
}

#[test]
fn logs_rebuild_a_long_history_when_follow_starts_now() {
    logs_rebuild_a_long_history(None);
}

#[test]
fn logs_rebuild_a_long_history_when_follow_replays() {
    let sim = ModalSim::start(&["--logs-follow-replays"]);
    logs_rebuild_a_long_history(Some(&sim.url));
}
