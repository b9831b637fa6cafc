//! `kill -9` of hubferry and of a worker at download, at upload and just after the first commit.
//! Each kill is triggered by the worker's own JSON events (never a timed sleep); a latency fault
//! keeps the run inside the phase being killed. Into ModelScope a blob streams from its download
//! into its upload (no separate upload phase, nothing staged), so the download point (Hugging Face
//! → ModelScope, the source's downloads held) covers that transfer. The upload point runs the
//! other way, ModelScope → Hugging Face, where a file is staged and then uploaded: it triggers when
//! the first file's download half is done, and the destination's `preupload` / `xet-write-token`
//! requests are held. A kill between a blob's upload and its commit, with the destination's link
//! shaped, is tests/py/test_worker_kill.py's. Then: no process of the run survives, and a re-run
//! verifies and moves exactly the bytes that were not committed (counted from the destination
//! listing after the kill). Each case prints the bytes its re-run moved.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::selection::helper;
use crate::support::{
    admin_json, admin_request, distinct_content_seed, unique, wait_bounded, TestContext,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Point {
    Download,
    Upload,
    FirstCommit,
}

impl Point {
    /// The source hub of the case, and the destination's.
    fn hubs(self) -> (&'static str, &'static str) {
        match self {
            Point::Upload => ("ms", "hf"),
            Point::Download | Point::FirstCommit => ("hf", "ms"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    Hubferry,
    Worker,
}

fn triggered(point: Point, event: &Value) -> bool {
    match point {
        Point::Download => event["type"] == "start",
        // A job's download half is done (`bytes_done` counts half of each file per stage) and its
        // upload is held.
        Point::Upload => {
            let (done, total) = (
                event["bytes_done"].as_u64().unwrap_or(0),
                event["bytes_total"].as_u64().unwrap_or(0),
            );
            event["type"] == "progress" && total > 0 && done * 2 >= total && done < total
        }
        Point::FirstCommit => event["type"] == "commit",
    }
}

/// The latency fault that holds the run inside `point` (none for the commit).
fn hold(ctx: &TestContext, point: Point, repo: &str, dest: &str) -> Option<u64> {
    let spec = match point {
        Point::Download => {
            json!({"kind": "latency", "ms": 4000, "platform": "hf", "path": format!("{repo}/resolve/")})
        }
        // Every file's upload to the Hub starts with `preupload` (regular or LFS) and, for an
        // LFS file, the Xet write token.
        Point::Upload => json!({
            "kind": "latency", "ms": 4000, "platform": "hf",
            "path": format!("{dest}/(preupload|xet-write-token)"),
        }),
        Point::FirstCommit => return None,
    };
    let added = admin_json(&ctx.world.admin, "POST", "/faults", Some(&spec));
    added["added"][0]["id"].as_u64()
}

/// Waits until the sandbox has held a request with fault `id`.
fn wait_fired(ctx: &TestContext, id: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let faults = admin_json(&ctx.world.admin, "GET", "/faults", None);
        let fired = faults["faults"]
            .as_array()
            .and_then(|all| all.iter().find(|f| f["id"] == id))
            .and_then(|f| f["fired"].as_u64())
            .unwrap_or(0);
        if fired > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no upload request reached the hub within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Processes of this test's run: any whose command line names the test's private directory.
fn run_processes(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(&needle) {
            out.push((pid, cmdline));
        }
    }
    out
}

fn wait_for_no_orphans(dir: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = run_processes(dir);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: processes of the killed run still alive after 15 s: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Source {
    platform: &'static str,
    id: String,
    sizes: Vec<(String, u64)>,
}

impl Source {
    fn total(&self) -> u64 {
        self.sizes.iter().map(|(_, s)| s).sum()
    }
}

/// A source repo of a 2 MB safetensors and two ~0.5 MB shards, one chunk each, with bytes no
/// other repo has: ModelScope (and its stand-in) stores a blob once, and a streamed upload of a
/// blob it holds already reads nothing from the source, so a case on content an earlier case
/// uploaded would have no download or upload to stop in.
fn seeded(ctx: &TestContext, platform: &'static str) -> Source {
    let id = format!("alice/{}", unique("it-kill"));
    let content = distinct_content_seed().to_string();
    let seed = ctx.seed(
        platform,
        &id,
        &["--lfs-mb", "2", "--extra-files", "2", "--seed", &content],
    );
    let sizes = seed["files"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.starts_with("weights/") || p.starts_with("shards/"))
        .map(|(p, s)| (p.clone(), s.as_u64().unwrap()))
        .collect();
    Source {
        platform,
        id,
        sizes,
    }
}

fn run_dirs(ctx: &TestContext) -> Vec<String> {
    std::fs::read_dir(ctx.path("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hubferry-run-"))
        .collect()
}

/// Kills `victim` at `point`, checks for orphans, re-runs; returns the bytes the re-run moved.
fn kill_and_rerun(
    ctx: &TestContext,
    src: &Source,
    backend: &str,
    point: Point,
    victim: Victim,
) -> u64 {
    let (source_hub, dest_hub) = point.hubs();
    assert_eq!(src.platform, source_hub, "{point:?} runs from {source_hub}");
    let dest = format!("alice/{}", unique("it-killed"));
    let source = format!("{}:{}", src.platform, src.id);
    let args = [
        "migrate",
        source.as_str(),
        "--dest",
        dest.as_str(),
        "--backend",
        backend,
        "--parallel",
        "--chunk-size",
        "1e-9",
        "--concurrency",
        "1",
        "--include",
        "weights/*",
        "--include",
        "shards/*",
        "--json",
    ];
    let what = format!("kill -9 of {victim:?} at {point:?} ({backend})");
    let fault = hold(ctx, point, &src.id, &dest);
    let err_path = ctx.path(&format!("kill-{}.err", unique("e")));
    let mut cmd = ctx.command(&args);
    cmd.stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("spawning hubferry");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: no trigger event within 90 s\n{}",
                    std::fs::read_to_string(&err_path).unwrap_or_default()
                )
            });
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if triggered(point, &event) {
            break;
        }
    }
    if let (Point::Upload, Some(id)) = (point, fault) {
        // The job's download is done; the kill lands while its upload request is held.
        wait_fired(ctx, id, &what);
    }
    match victim {
        Victim::Hubferry => {
            child.kill().unwrap();
            let _ = child.wait();
            if let Some(id) = fault {
                admin_request(&ctx.world.admin, "DELETE", &format!("/faults/{id}"), None);
            }
            wait_for_no_orphans(ctx.dir.path(), &what);
        }
        Victim::Worker => {
            let worker = run_processes(ctx.dir.path())
                .into_iter()
                .find(|(_, cmd)| cmd.contains("-m hubferry_worker") && !cmd.contains("__leash"))
                .unwrap_or_else(|| panic!("{what}: no worker process found"));
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(worker.0),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            if let Some(id) = fault {
                admin_request(&ctx.world.admin, "DELETE", &format!("/faults/{id}"), None);
            }
            for _ in rx.iter() {}
            let code = wait_bounded(&mut child, Duration::from_secs(120));
            assert_ne!(code, Some(0), "{what}: a killed worker is never a success");
            wait_for_no_orphans(ctx.dir.path(), &what);
        }
    }
    let listed: Vec<Option<Vec<String>>> =
        serde_json::from_str(&helper(ctx, &["list", dest_hub, &dest], &Value::Null)).unwrap();
    let at_dest = listed[0].clone().unwrap_or_default();
    let committed: u64 = src
        .sizes
        .iter()
        .filter(|(p, _)| at_dest.contains(p))
        .map(|(_, s)| s)
        .sum();

    let out = ctx.run(&args);
    assert_eq!(out.code, Some(0), "{what}, re-run: {out}");
    let report = out.ok_report();
    assert_eq!(report["verified"], true, "{what}: {report}");
    let moved = report["bytes_moved"].as_u64().unwrap();
    assert_eq!(
        moved,
        src.total() - committed,
        "{what}: the re-run moves exactly what was not committed ({committed} of {} were)",
        src.total()
    );
    assert!(
        run_dirs(ctx).is_empty(),
        "{what}: the killed run's directory is removed by the next run: {:?}",
        run_dirs(ctx)
    );
    // Straight to stdout, past the test harness's capture: the numbers belong in every test log.
    use std::io::Write;
    let _ = writeln!(
        std::io::stdout(),
        "kill point: {what}: {committed} of {} bytes committed by the killed run; the re-run moved {moved} bytes",
        src.total()
    );
    moved
}

#[test]
fn kill_9_of_hubferry_leaves_no_orphan_and_a_rerun_moves_only_the_rest() {
    let ctx = TestContext::new();
    for point in [Point::Download, Point::Upload, Point::FirstCommit] {
        let src = seeded(&ctx, point.hubs().0);
        kill_and_rerun(&ctx, &src, "local", point, Victim::Hubferry);
    }
    kill_and_rerun(
        &ctx,
        &seeded(&ctx, "hf"),
        "modal",
        Point::Download,
        Victim::Hubferry,
    );
    ctx.assert_no_canaries();
}

#[test]
fn kill_9_of_a_worker_fails_the_run_and_a_rerun_moves_only_the_rest() {
    let ctx = TestContext::new();
    for point in [Point::Download, Point::Upload, Point::FirstCommit] {
        let src = seeded(&ctx, point.hubs().0);
        kill_and_rerun(&ctx, &src, "local", point, Victim::Worker);
    }
    ctx.assert_no_canaries();
}
