//! Detached runs: `migrate --detach` records the run and returns; `logs -f` rebuilds progress and
//! the same verified report; `runs`, `status`, `stop`.

use std::time::Duration;

use crate::our_snapshot;
use crate::support::{distinct_content_seed, unique, TestContext};

#[test]
fn detach_then_logs_follow_reaches_the_same_verified_report() {
    let ctx = TestContext::new();
    let repo = unique("it-detach");
    let seeded = ctx.seed("hf", &format!("alice/{repo}"), &[]);

    let out = ctx.run(&["migrate", &format!("hf:alice/{repo}"), "--detach", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let launched = out.last_json();
    assert_eq!(launched["type"], "detached", "{out}");
    let run_id = launched["run_id"].as_str().unwrap().to_owned();
    assert!(launched["app_ids"][0].as_str().unwrap().starts_with("ap-"));
    let argv = ctx.argv_log();
    assert!(
        argv.iter().any(|l| l.starts_with("modal run --detach ")),
        "{argv:?}"
    );

    let runs = ctx.run(&["runs", "--json"]);
    assert_eq!(runs.code, Some(0), "{runs}");
    assert!(
        runs.json_lines()
            .iter()
            .any(|r| r["run_id"] == run_id.as_str()),
        "{runs}"
    );

    // Nobody follows it: once Modal says its app ended, `runs` says so too (not the recorded
    // `running`). Waits on the app state, bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while ctx.run(&["status", &run_id, "--json"]).last_json()["state"] == "running" {
        assert!(
            std::time::Instant::now() < deadline,
            "the detached run never ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let runs = ctx.run(&["runs", "--json"]);
    let listed = runs.json_lines();
    let this = listed.iter().find(|r| r["run_id"] == run_id.as_str());
    assert_eq!(this.unwrap()["state"], "ended", "{runs}");

    let logs = ctx.run(&["logs", &run_id, "-f", "--json"]);
    assert_eq!(logs.code, Some(0), "{logs}");
    assert!(
        !logs.of_type("start").is_empty(),
        "progress is rebuilt from events\n{logs}"
    );
    let r = logs.ok_report();
    assert_eq!(r["run_id"], run_id.as_str());
    assert_eq!(
        r["files_moved"],
        seeded["files"].as_object().unwrap().len() as u64
    );
    assert_eq!(r["bytes_moved"], seeded["bytes"], "{logs}");
    assert_eq!(r["verification"]["missing"], serde_json::json!([]));
    let history = throughput_history(&ctx);
    assert_eq!(
        history.len(),
        1,
        "the ok report adds one sample: {history:?}"
    );
    let sample = &history[0];
    assert_eq!(sample["run_id"], run_id.as_str());
    assert_eq!(sample["backend"], "modal");
    assert_eq!(sample["direction"], "hf->ms");
    assert_eq!(sample["bytes"], seeded["bytes"]);
    let (transfer_s, wall_s) = (
        sample["transfer_s"].as_f64().unwrap(),
        sample["wall_s"].as_f64().unwrap(),
    );
    assert!(
        transfer_s > 0.0 && wall_s > transfer_s,
        "wall time counts from the launch: {sample}"
    );

    let status = ctx.run(&["status", &run_id, "--json"]);
    assert_eq!(status.code, Some(0), "{status}");
    let s = status.last_json();
    assert_eq!(s["state"], "ok", "{status}");
    assert_eq!(s["report"]["verified"], true);
    let runs = ctx.run(&["runs"]);
    assert!(runs.stdout.contains(run_id.as_str()), "{runs}");
    our_snapshot!(ctx, runs, @"
    exit: 0
    ----- stdout -----
    RUN              AGE       STATE      SOURCE → DEST
    [RUN_ID] [DURATION] ok         hf:model:alice/it-detach-[N]@main → ms:model:alice/it-detach-[N]@master
    ----- stderr -----
    ");

    // Human `logs` (a snapshot) ends with the same report.
    our_snapshot!(ctx, "logs_report", ctx.run(&["logs", &run_id]));
    assert_eq!(
        throughput_history(&ctx).len(),
        1,
        "building the report again records nothing more"
    );
    assert!(ctx
        .path("state")
        .join("runs")
        .join(format!("{run_id}.json"))
        .is_file());
    ctx.assert_no_canaries();
}

/// The state directory's throughput history, one JSON object per line.
fn throughput_history(ctx: &TestContext) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ctx.path("state").join("throughput.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stop_ends_a_detached_run_and_its_report_says_so() {
    let ctx = TestContext::new();
    let repo = unique("it-stop");
    // Bytes of its own: a blob ModelScope holds already is not read from the source at all.
    let content = distinct_content_seed().to_string();
    ctx.seed("hf", &format!("alice/{repo}"), &["--seed", &content]);
    // The big file's download hangs, so the run is still going when we stop it. Any method: with
    // Xet the client only asks `resolve` for metadata (HEAD) and reads the bytes from the CAS.
    ctx.fault(serde_json::json!({
        "kind": "latency", "ms": 60000, "platform": "hf",
        "path": format!("{repo}/resolve/.*model\\.safetensors"),
    }));
    let out = ctx.run(&["migrate", &format!("hf:alice/{repo}"), "--detach", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let run_id = out.last_json()["run_id"].as_str().unwrap().to_owned();

    // While it runs: a snapshot shows progress so far, status says running.
    let snapshot = ctx.run(&["logs", &run_id, "--json"]);
    assert_eq!(snapshot.code, Some(0), "{snapshot}");
    let progress = snapshot.last_json();
    assert_eq!(progress["type"], "run_progress", "{snapshot}");
    assert_eq!(
        (
            progress["jobs_done"].as_u64(),
            progress["jobs_total"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let status = ctx.run(&["status", &run_id, "--json"]);
    assert_eq!(status.last_json()["state"], "running", "{status}");

    our_snapshot!(ctx, ctx.run(&["stop", &run_id]), @"
    exit: 0
    ----- stdout -----
    [RUN_ID] stopped; files already committed stay at the destination — re-run the migration to finish it
    ----- stderr -----
    stopped Modal app [APP_ID]
    ");
    assert!(ctx
        .argv_log()
        .iter()
        .any(|l| l.contains("app stop ap-") && l.ends_with("-y")));

    let status = ctx.run(&["status", &run_id, "--json"]);
    assert_eq!(status.code, Some(0), "{status}");
    let s = status.last_json();
    assert_eq!(s["state"], "stopped", "{status}");

    // Stopping it again is not an error, and a snapshot no longer calls it running.
    our_snapshot!(ctx, ctx.run(&["stop", &run_id]), @"
    exit: 0
    ----- stdout -----
    [RUN_ID] is not running (state: stopped); nothing to stop
    ----- stderr -----
    Modal app [APP_ID] has already ended (stopped)
    ");
    let snapshot = ctx.run(&["logs", &run_id, "--json"]);
    assert_eq!(snapshot.code, Some(0), "{snapshot}");
    let last = snapshot.last_json();
    if last["type"] == "run_progress" {
        assert_eq!(last["state"], "stopped", "{snapshot}");
    }

    let logs = ctx.run_command(
        ctx.command(&["logs", &run_id, "-f", "--json"]),
        Duration::from_secs(90),
    );
    assert_eq!(logs.code, Some(1), "{logs}");
    let r = logs.last_json();
    assert_eq!(r["type"], "report");
    assert_eq!(r["verified"], false);
    assert_ne!(r["status"], "ok");
    assert!(
        throughput_history(&ctx).is_empty(),
        "a stopped run is no sample"
    );
    ctx.assert_no_canaries();
}
