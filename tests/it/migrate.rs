//! `hubferry migrate` end to end: the real binary, the hub sandbox, the Modal stand-in and the
//! real `modal` CLI (or the local worker), checked through `--json` reports and the hubs.

use std::time::Duration;

use serde_json::Value;

use crate::our_snapshot;
use crate::support::{admin_json, unique, wait_until_running, Output, TestContext};

fn report(out: &Output) -> Value {
    let r = out.last_json();
    assert_eq!(r["type"], "report", "{out}");
    r
}

fn file_count(seeded: &Value) -> u64 {
    seeded["files"].as_object().unwrap().len() as u64
}

/// Every stdout line in `--json` mode is a worker event or the final report.
fn assert_ndjson_only(out: &Output) {
    for line in out.json_lines() {
        assert!(
            line["hubferry"] == 1 || line["type"] == "report",
            "unexpected stdout object {line}\n{out}"
        );
    }
}

#[test]
fn local_backend_migrates_each_way_then_a_rerun_moves_nothing() {
    let ctx = TestContext::new();
    let repo = unique("it-local");
    let seeded = ctx.seed("hf", &format!("alice/{repo}"), &[]);

    let out = ctx.run(&[
        "migrate",
        &format!("hf:alice/{repo}"),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_ndjson_only(&out);
    let r = out.ok_report();
    assert_eq!(r["files_moved"], file_count(&seeded));
    assert_eq!(r["bytes_moved"], seeded["bytes"]);
    assert_eq!(r["backend"], "local");
    assert!(r["dest_url"]
        .as_str()
        .unwrap()
        .contains(&format!("alice/{repo}")));
    assert_eq!(r["verification"]["missing"], serde_json::json!([]));

    let back = format!("alice/{repo}-back");
    let out = ctx.run(&[
        "migrate",
        &format!("ms:alice/{repo}"),
        "--dest",
        &back,
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.ok_report();
    assert_eq!(r["files_moved"], file_count(&seeded));
    assert_eq!(r["dest"], format!("hf:model:{back}@main"));

    let again = ctx.run(&[
        "migrate",
        &format!("hf:alice/{repo}"),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(again.code, Some(0), "{again}");
    let r = report(&again);
    assert_eq!(r["files_moved"], 0, "{again}");
    assert_eq!(r["verified"], true);
    assert_eq!(r["files_skipped"], file_count(&seeded), "{again}");
    assert_eq!(r["bytes_skipped"], seeded["bytes"], "{again}");

    let argv = ctx.argv_log();
    assert!(
        argv.iter()
            .any(|l| l.contains("-m hubferry_worker --job-file")),
        "{argv:?}"
    );
    ctx.assert_no_canaries();
}

/// ModelScope stores `.jsonl` through LFS in datasets, Hugging Face keeps a small one inline: the
/// two listings then carry different kinds of ids for the same bytes (sha256 of the content on
/// one side, the content's git blob id on the other, the pointer's on the first).
#[test]
fn modelscope_dataset_with_lfs_text_files_migrates_and_verifies_on_hf() {
    let ctx = TestContext::new();
    let repo = unique("it-msds");
    let id = format!("alice/{repo}");
    let seeded = ctx.seed("ms", &id, &["--repo-type", "dataset", "--lfs-mb", "0.5"]);
    let src = format!("ms:datasets/{id}");

    let out = ctx.run(&["migrate", &src, "--backend", "local", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.ok_report();
    assert_eq!(r["files_moved"], file_count(&seeded), "{out}");
    assert_eq!(
        r["verification"]["mismatched"],
        serde_json::json!([]),
        "{out}"
    );

    let hf = format!("hf:datasets/{id}");
    let out = ctx.run(&["verify", &src, &hf, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = out.last_json();
    assert_eq!(v["matched"], file_count(&seeded), "{out}");
    // The .jsonl has no id both listings share: verify fetched both copies and hashed them.
    assert_eq!(v["matched_by"]["content"], 1, "{out}");

    // The re-run settles the .jsonl by content (no shared id in the listings): no worker starts.
    let again = ctx.run(&["migrate", &src, "--backend", "local", "--json"]);
    assert_eq!(again.code, Some(0), "{again}");
    let r = again.ok_report();
    assert_eq!(r["bytes_moved"], 0, "{again}");
    assert_eq!(r["files_skipped"], file_count(&seeded), "{again}");
    let workers = ctx
        .argv_log()
        .iter()
        .filter(|l| l.contains("hubferry_worker"))
        .count();
    assert_eq!(workers, 1, "the re-run started a worker");
    ctx.assert_no_canaries();
}

/// A repo holding only the hub's `.gitattributes` still has a copy: the destination is created
/// (one empty job) and verifies, instead of "up to date" followed by a listing of nothing.
#[test]
fn an_empty_repository_migrates_to_an_empty_verified_copy() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-empty"));
    let seeded = ctx.seed("hf", &id, &["--lfs-mb", "0.01"]);
    let paths: Vec<&str> = seeded["files"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    crate::mirrors::edit(&ctx, "hf", &id, &[], &paths);

    let out = ctx.run(&[
        "migrate",
        &format!("hf:{id}"),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.ok_report();
    assert_eq!(
        (r["files_moved"].as_u64(), r["chunks"].as_u64()),
        (Some(0), Some(1)),
        "{out}"
    );
    let out = ctx.run(&["verify", &format!("hf:{id}"), &format!("ms:{id}"), "--json"]);
    assert_eq!(out.code, Some(0), "{out}");

    // A filter that leaves nothing says so in the plan.
    let seeded_id = format!("alice/{}", unique("it-nomatch"));
    ctx.seed("hf", &seeded_id, &["--lfs-mb", "0.01"]);
    let dry = ctx.run(&[
        "migrate",
        &format!("hf:{seeded_id}"),
        "--include",
        "*.gguf",
        "--dry-run",
    ]);
    our_snapshot!(ctx, dry, @"
    exit: 0
    ----- stdout -----
    plan hf:model:alice/it-nomatch-[N]@main → ms:model:alice/it-nomatch-[N]@master (new, public)
      move 0 files (0 B), skip 0 (0 B), delete 0; 1 chunk; eta [DURATION]
      estimate: [N] container-s ≈ [USD] at Modal's published prices (2 cores, 4.0 GiB each); default rates (no earlier run in this direction)
      rates:    [RATE] per container, [RATE] shared by all chunks, [DURATION] start, [DURATION] per file
      chunk   1: 0 files, 0 B
      url: [MS_ENDPOINT]/models/alice/it-nomatch-[N]
    dry run: nothing was moved
    ----- stderr -----
    warning: --include/--exclude leave none of the 6 files of hf:alice/it-nomatch-[N]@main
    ");
    ctx.assert_no_canaries();
}

#[test]
fn modal_backend_migrates_each_way_and_keeps_secrets_out_of_everything() {
    let ctx = TestContext::new();
    let repo = unique("it-modal");
    let seeded = ctx.seed("hf", &format!("alice/{repo}"), &[]);

    let out = ctx.run(&["migrate", &format!("huggingface:alice/{repo}"), "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_ndjson_only(&out);
    let r = out.ok_report();
    assert_eq!(r["backend"], "modal");
    assert_eq!(r["files_moved"], file_count(&seeded));
    assert!(r["app_ids"][0].as_str().unwrap().starts_with("ap-"), "{r}");

    // Back to Hugging Face under another name, human output this time.
    let back = format!("alice/{repo}-back");
    let out = ctx.run(&[
        "migrate",
        &format!("modelscope:alice/{repo}"),
        "--dest",
        &back,
    ]);
    our_snapshot!(ctx, "modal_run_back_to_hf", out);

    let argv = ctx.argv_log();
    let runs: Vec<&String> = argv
        .iter()
        .filter(|l| l.starts_with("modal run "))
        .collect();
    assert_eq!(runs.len(), 2, "{argv:?}");
    assert!(runs[0].contains("app.py::main --jobs-file"), "{argv:?}");
    // The rendered app, its settings, the worker package and the job files were written…
    let names: Vec<String> = ctx
        .captured_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in [
        "app.py",
        "hubferry_app.json",
        "jobs.json",
        "__init__.py",
        "__main__.py",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} not rendered: {names:?}"
        );
    }
    // …and the settings name the secret variables, never their values.
    let settings = ctx
        .captured_files()
        .into_iter()
        .find(|p| p.ends_with("hubferry_app.json"))
        .unwrap();
    let settings: Value = serde_json::from_slice(&std::fs::read(settings).unwrap()).unwrap();
    let names = settings["secret_env"].as_array().unwrap();
    assert!(names.contains(&"HF_TOKEN".into()) && names.contains(&"MODELSCOPE_API_TOKEN".into()));
    assert_eq!(settings["timeout_s"], 86400);
    ctx.assert_no_canaries();
}

#[test]
fn modal_refusing_the_credentials_is_a_credentials_error() {
    let ctx = TestContext::new();
    let repo = unique("it-badmodal");
    ctx.seed("hf", &format!("alice/{repo}"), &["--lfs-mb", "0.1"]);
    let mut cmd = ctx.command(&["migrate", &format!("hf:alice/{repo}")]);
    cmd.env("MODAL_TOKEN_SECRET", "not-a-modal-secret");
    let out = ctx.run_command(cmd, Duration::from_secs(120));
    our_snapshot!(ctx, out, @"
    exit: 3
    ----- stdout -----
    ----- stderr -----
    plan hf:model:alice/it-badmodal-[N]@main → ms:model:alice/it-badmodal-[N]@master (new, public)
      move 6 files (105.1 kB), skip 0 (0 B), platform files 1 (.gitattributes), delete 0; 1 chunk; eta [DURATION]
      estimate: [N] container-s ≈ [USD] at Modal's published prices (2 cores, 4.0 GiB each); default rates (no earlier run in this direction)
    warning: modal: Token ID or secret is invalid
    error: the run could not start on Modal: modal: Token ID or secret is invalid

    hint: check Modal credentials: `modal token new`, or MODAL_TOKEN_ID/MODAL_TOKEN_SECRET (`hubferry doctor` checks them)
    ");
}

#[test]
fn parallel_run_fans_tiny_chunks_out_in_one_app() {
    let ctx = TestContext::new();
    let repo = unique("it-par");
    let seeded = ctx.seed(
        "hf",
        &format!("alice/{repo}"),
        &["--extra-files", "4", "--lfs-mb", "1"],
    );

    let out = ctx.run(&[
        "migrate",
        &format!("hf:alice/{repo}"),
        "--parallel",
        "--chunk-size",
        "0.0000001",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let starts = out.of_type("start");
    let jobs: std::collections::BTreeSet<&str> =
        starts.iter().map(|s| s["job"].as_str().unwrap()).collect();
    assert!(jobs.len() >= 4, "expected ≥ 4 chunks, got {jobs:?}\n{out}");
    assert!(starts
        .iter()
        .all(|s| s["chunk"]["count"].as_u64().unwrap() >= 4));
    let r = out.ok_report();
    assert!(r["chunks"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(r["files_moved"], file_count(&seeded));
    assert_eq!(
        ctx.argv_log()
            .iter()
            .filter(|l| l.starts_with("modal run "))
            .count(),
        1
    );
}

#[test]
fn dry_run_json_prints_the_plan_and_moves_nothing() {
    let ctx = TestContext::new();
    let repo = unique("it-dry");
    let seeded = ctx.seed("hf", &format!("alice/{repo}"), &[]);
    for _ in 0..2 {
        let out = ctx.run(&[
            "migrate",
            &format!("https://huggingface.co/alice/{repo}/tree/main"),
            "--dry-run",
            "--json",
        ]);
        assert_eq!(out.code, Some(0), "{out}");
        let lines = out.json_lines();
        assert_eq!(lines.len(), 1, "{out}");
        let plan = &lines[0];
        assert_eq!(plan["type"], "plan");
        assert_eq!(plan["dest_exists"], false, "a dry run creates nothing");
        assert!(plan["files_to_move"].as_u64().unwrap() >= file_count(&seeded));
    }
    assert!(ctx.argv_log().is_empty(), "a dry run starts no child");
}

/// Sends SIGINT to hubferry and waits (bounded) for it to end: its exit code and stderr.
fn interrupt(child: &mut std::process::Child, err_path: &std::path::Path) -> (Option<i32>, String) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let code = crate::support::wait_bounded(child, Duration::from_secs(60));
    (code, std::fs::read_to_string(err_path).unwrap())
}

#[test]
fn ctrl_c_stops_local_workers_says_how_to_resume_and_exits_130() {
    let ctx = TestContext::new();
    let repo = unique("it-int");
    ctx.seed("hf", &format!("alice/{repo}"), &[]);
    // Downloads of this repo's big file hang long enough to interrupt the run mid-way.
    ctx.fault(serde_json::json!({
        "kind": "latency", "ms": 60000, "platform": "hf", "method": "GET",
        "path": format!("{repo}/resolve/.*model\\.safetensors"),
    }));
    let out_path = ctx.path("int.out");
    let err_path = ctx.path("int.err");
    let mut cmd = ctx.command(&[
        "migrate",
        &format!("hf:alice/{repo}"),
        "--backend",
        "local",
        "--json",
    ]);
    cmd.stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    wait_until_running(&mut child, "a start event", || {
        std::fs::read_to_string(&out_path)
            .unwrap_or_default()
            .contains("\"type\":\"start\"")
    });
    let (code, stderr) = interrupt(&mut child, &err_path);
    // Not a snapshot: which files the workers were at when the signal came varies, and so do
    // the lines about them.
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "report");
    assert_ne!(last["status"], "ok");
}

#[test]
fn ctrl_c_before_any_worker_starts_exits_130_at_once() {
    let ctx = TestContext::new();
    let repo = unique("it-int-pre");
    ctx.seed("hf", &format!("alice/{repo}"), &[]);
    // The source listing hangs: Ctrl-C comes during preflight, while nothing runs.
    ctx.fault(serde_json::json!({
        "kind": "latency", "ms": 60000, "platform": "hf", "method": "GET",
        "path": format!("{repo}/tree"),
    }));
    let mut cmd = ctx.command(&["migrate", &format!("hf:alice/{repo}"), "--backend", "local"]);
    let err_path = ctx.path("pre.err");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    // The sandbox is shared: find this test's fault by its path.
    wait_until_running(&mut child, "the source listing", || {
        let faults = admin_json(&ctx.world.admin, "GET", "/faults", None);
        faults["faults"].as_array().unwrap().iter().any(|f| {
            f["path"].as_str().is_some_and(|p| p.contains(&repo)) && f["fired"].as_u64() > Some(0)
        })
    });
    // Well before the 60 s listing would end.
    let (code, stderr) = interrupt(&mut child, &err_path);
    let out = Output {
        code,
        stdout: String::new(),
        stderr,
    };
    our_snapshot!(ctx, out, @"
    exit: 130
    ----- stdout -----
    ----- stderr -----
    warning: interrupted: stopped; what already finished stays as it is
    ");
    assert!(ctx
        .argv_log()
        .iter()
        .all(|l| !l.contains("hubferry_worker")));
}

#[test]
fn delete_asks_for_yes_then_removes_what_the_source_lacks() {
    let ctx = TestContext::new();
    let (a, b, dest) = (unique("it-del-a"), unique("it-del-b"), unique("it-del-x"));
    ctx.seed(
        "hf",
        &format!("alice/{a}"),
        &["--extra-files", "3", "--lfs-mb", "0.5"],
    );
    ctx.seed(
        "hf",
        &format!("alice/{b}"),
        &["--extra-files", "1", "--lfs-mb", "0.5"],
    );
    let dest_id = format!("alice/{dest}");
    let first = ctx.run(&[
        "migrate",
        &format!("hf:alice/{a}"),
        "--dest",
        &dest_id,
        "--backend",
        "local",
    ]);
    // The plan summary before the run, the report after it.
    our_snapshot!(ctx, "local_run", first);

    let sync = [
        "migrate",
        &format!("hf:alice/{b}"),
        "--dest",
        &dest_id,
        "--backend",
        "local",
        "--delete",
    ];
    let refused = ctx.run(&sync);
    our_snapshot!(ctx, refused, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    plan hf:model:alice/it-del-b-[N]@main → ms:model:alice/it-del-x-[N]@master (exists, public)
      move 0 files (0 B), skip 7 (655.6 kB), platform files 1 (.gitattributes), delete 2; 1 chunk; eta [DURATION]
      estimate: cost not applicable (local backend, no Modal charges); rates measured on 1 earlier run
    error: refusing to delete 2 file(s) at ms:model:alice/it-del-x-[N]@master without confirmation

    hint: pass --yes to confirm, or drop --delete
    ");

    let out = ctx.run(&[&sync[..], &["--yes", "--json"]].concat());
    assert_eq!(out.code, Some(0), "{out}");
    let deleted: Vec<String> = out
        .of_type("file")
        .into_iter()
        .filter(|f| f["status"] == "deleted")
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        deleted,
        ["shards/part-001.bin", "shards/part-002.bin"],
        "{out}"
    );
    let r = report(&out);
    assert_eq!(
        (r["files_deleted"].as_u64(), r["verified"].as_bool()),
        (Some(2), Some(true)),
        "{out}"
    );
    assert_eq!(r["verification"]["extra"], serde_json::json!([]));
}
