//! Mirror commands end to end against the hub sandbox (and the local worker where bytes move):
//! `verify`, `sync`, `retire`, `download`, `inventory`.
//!
//! Identical copies are made by seeding both hubs with the same deterministic sample (seed.py),
//! which is much faster than migrating; changes go through the official clients
//! (`mirrors_edit.py`).

use std::process::Command;

use serde_json::Value;

use crate::our_snapshot;
use crate::support::{admin_json, admin_request, root, unique, Output, TestContext, HF_ALICE};

/// Puts (`PATH=TEXT`) and deletes paths in one repo through the official client.
pub(crate) fn edit(
    ctx: &TestContext,
    platform: &str,
    repo_id: &str,
    puts: &[&str],
    deletes: &[&str],
) {
    edit_with(ctx, platform, repo_id, puts, deletes, &[]);
}

fn edit_with(
    ctx: &TestContext,
    platform: &str,
    repo_id: &str,
    puts: &[&str],
    deletes: &[&str],
    extra: &[&str],
) {
    let mut cmd = ctx.client_command(&root().join("tests/it/mirrors_edit.py"));
    cmd.args(["--platform", platform, "--repo-id", repo_id]);
    for p in puts {
        cmd.args(["--put", p]);
    }
    for d in deletes {
        cmd.args(["--delete", d]);
    }
    cmd.args(extra);
    let out = cmd.output().expect("running mirrors_edit.py");
    assert!(
        out.status.success(),
        "editing {platform}:{repo_id} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify_json(out: &Output) -> Value {
    let v = out.last_json();
    assert_eq!(v["type"], "verify", "{out}");
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn verify_passes_for_equal_copies_and_catches_a_byte_a_missing_and_an_extra_file() {
    let ctx = TestContext::new();
    let repo = unique("it-verify");
    let id = format!("alice/{repo}");
    let seeded = ctx.seed("hf", &id, &["--lfs-mb", "0.5"]);
    ctx.seed("ms", &id, &["--lfs-mb", "0.5"]);
    let (hf, ms) = (format!("hf:{id}"), format!("ms:{id}"));

    let out = ctx.run(&["verify", &hf, &ms, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = verify_json(&out);
    assert_eq!(v["ok"], true, "{out}");
    let n = seeded["files"].as_object().unwrap().len() as u64;
    assert_eq!(v["matched"], n, "{out}");
    assert_eq!(v["files"], n, "{out}");
    assert_eq!(v["platform_files"], serde_json::json!([".gitattributes"]));
    our_snapshot!(ctx, ctx.run(&["verify", &hf, &ms]), @"
    exit: 0
    ----- stdout -----
    same hf:model:alice/it-verify-[N]@main = ms:model:alice/it-verify-[N]@master: 6 files (524.6 kB) match (5 by git oid, 1 by sha256)
      not compared: .gitattributes (platform-generated)
    ----- stderr -----
    ");

    // One changed byte in a small file (same size), a missing file and an extra one.
    edit(
        &ctx,
        "ms",
        &id,
        &[
            "config.json={\"hidden_size\": 66}",
            "extra.txt=not at the source",
        ],
        &["nested/deeper/notes.txt"],
    );
    let out = ctx.run(&["verify", &hf, &ms, "--json"]);
    assert_eq!(out.code, Some(1), "{out}");
    let v = verify_json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(strings(&v["mismatched"]), ["config.json"], "{out}");
    assert_eq!(strings(&v["missing"]), ["nested/deeper/notes.txt"], "{out}");
    assert_eq!(strings(&v["extra"]), ["extra.txt"], "{out}");

    our_snapshot!(ctx, ctx.run(&["verify", &hf, &ms]), @"
    exit: 1
    ----- stdout -----
    DIFFERENT hf:model:alice/it-verify-[N]@main ≠ ms:model:alice/it-verify-[N]@master: 4 of 6 files match; 1 mismatched, 1 missing, 1 extra
      mismatched config.json
      missing    nested/deeper/notes.txt
      extra      extra.txt
      not compared: .gitattributes (platform-generated)
    ----- stderr -----
    ");

    // README.md: a license line rewritten for HF passes (reported), any other change fails.
    edit(
        &ctx,
        "ms",
        &id,
        &[
            "config.json={\"hidden_size\": 65}",
            "nested/deeper/notes.txt=nested file\nnested file\nnested file\nnested file\nnested file\nnested file\nnested file\nnested file\nnested file\nnested file\n",
            "README.md=---\nlicense: Apache License 2.0\n---\n# hubferry sample 1\n",
        ],
        &["extra.txt"],
    );
    let out = ctx.run(&["verify", &hf, &ms, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = verify_json(&out);
    assert_eq!(strings(&v["rewritten"]), ["README.md"], "{out}");
    edit(
        &ctx,
        "ms",
        &id,
        &["README.md=---\nlicense: apache-2.0\n---\n# hubferry sample 2\n"],
        &[],
    );
    let out = ctx.run(&["verify", &hf, &ms, "--json"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        strings(&verify_json(&out)["mismatched"]),
        ["README.md"],
        "{out}"
    );

    let out = ctx.run(&["verify", &hf, "ms:alice/no-such-repo-anywhere"]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: ms:alice/no-such-repo-anywhere was not found

    hint: check the name (and --repo-type); a private repo looks missing without a token that can read it
    ");
    ctx.assert_no_canaries();
}

/// Lines of argv.log that started a worker (local) or a Modal run.
fn workers_started(ctx: &TestContext) -> usize {
    ctx.argv_log()
        .iter()
        .filter(|l| l.contains("hubferry_worker") || l.starts_with("modal run"))
        .count()
}

fn mirror_reports(out: &Output) -> Vec<Value> {
    out.json_lines()
        .into_iter()
        .filter(|v| v["type"] == "report")
        .collect()
}

/// Writes a mirrors file with one mirror (`extra` holds more `key = value` lines) and returns its path.
fn one_mirror(ctx: &TestContext, name: &str, source: &str, dest: &str, extra: &str) -> String {
    let config = ctx.path("mirrors.toml");
    std::fs::write(
        &config,
        format!("[[mirror]]\nname = \"{name}\"\nsource = \"{source}\"\ndest = \"{dest}\"\nbackend = \"local\"\n{extra}"),
    )
    .unwrap();
    config.display().to_string()
}

#[test]
fn sync_moves_everything_then_nothing_without_a_worker_then_only_the_changed_file() {
    let ctx = TestContext::new();
    let repo = unique("it-sync");
    let id = format!("alice/{repo}");
    let seeded = ctx.seed("hf", &id, &["--lfs-mb", "0.5"]);
    let config = one_mirror(&ctx, "small", &format!("hf:{id}"), &format!("ms:{id}"), "");

    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let reports = mirror_reports(&out);
    assert_eq!(reports.len(), 1, "{out}");
    let r = out.last_json();
    assert_eq!(
        (r["mirror"].as_str(), r["status"].as_str()),
        (Some("small"), Some("ok")),
        "{out}"
    );
    assert_eq!(r["verified"], true, "{out}");
    assert_eq!(r["changed"], true);
    assert_eq!(r["bytes_moved"], seeded["bytes"], "{out}");
    let started = workers_started(&ctx);
    assert!(started >= 1, "{:?}", ctx.argv_log());

    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.ok_report();
    assert_eq!(
        (r["bytes_moved"].as_u64(), r["files_moved"].as_u64()),
        (Some(0), Some(0)),
        "{out}"
    );
    assert_eq!(r["changed"], false);
    let files = seeded["files"].as_object().unwrap().len() as u64;
    assert_eq!(
        (r["files_skipped"].as_u64(), &r["bytes_skipped"]),
        (Some(files), &seeded["bytes"]),
        "platform files are not counted as skipped\n{out}"
    );
    assert_eq!(
        workers_started(&ctx),
        started,
        "an unchanged mirror started a worker"
    );

    let new_config = "{\"hidden_size\": 4096, \"layers\": 2}";
    edit(
        &ctx,
        "hf",
        &id,
        &[&format!("config.json={new_config}")],
        &[],
    );
    let out = ctx.run(&["sync", "--config", &config, "--dry-run"]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    plan hf:model:alice/it-sync-[N]@main → ms:model:alice/it-sync-[N]@master (exists, public)
      move 1 file (34 B), skip 5 (524.6 kB), platform files 1 (.gitattributes), delete 0; 1 chunk; eta [DURATION]
      estimate: cost not applicable (local backend, no Modal charges); rates measured on 1 earlier run
      streams per container: 1 download, 1 upload
      rates:    [RATE] per container, [RATE] shared by all chunks, [DURATION] start, [DURATION] per file
      chunk   1: 1 file, 34 B
      + config.json (34 B)
      url: [MS_ENDPOINT]/models/alice/it-sync-[N]
    dry run: nothing was moved
    sync 1 mirror: 0 current, 1 to update, 0 failed
      small  would move 1 files (34 B)
    ----- stderr -----
    sync: 1 mirror from [TEMP]/mirrors.toml
    mirror small: mirrors hf:alice/it-sync-[N]@[SHORT_SHA], 1 commit behind
    ");
    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.last_json();
    assert_eq!(r["verified"], true, "{out}");
    assert_eq!(r["files_moved"], 1, "{out}");
    assert_eq!(r["bytes_moved"], new_config.len() as u64, "{out}");
    assert_eq!(
        r["files_skipped"],
        files - 1,
        "the unchanged files count as skipped\n{out}"
    );

    // A typo in the mirrors file stops everything before any request (exit 2, with a hint).
    let bad = ctx.path("bad.toml");
    std::fs::write(
        &bad,
        format!(
            "[[mirror]]\nname = \"x\"\nsource = \"hf:{id}\"\ndest = \"ms:{id}\"\ndelet = true\n"
        ),
    )
    .unwrap();
    let out = ctx.run(&["sync", "--config", &bad.display().to_string()]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: [TEMP]/bad.toml: TOML parse error at line 5, column 1
      |
    5 | delet = true
      | ^^^^^
    unknown field `delet`, expected one of `name`, `source`, `dest`, `backend`, `repo_type`, `revision`, `include`, `exclude`, `delete`, `method`, `revisions`

    hint: each mirror is a [[mirror]] table with name, source and dest; optional: backend, repo_type, revision, revisions, include, exclude, delete, method
    ");

    // --dry-run --json: one plan object per mirror, carrying its name, and nothing else.
    let out = ctx.run(&["sync", "--config", &config, "--dry-run", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(
        (lines[0]["type"].as_str(), lines[0]["mirror"].as_str()),
        (Some("plan"), Some("small")),
        "{out}"
    );
    assert_eq!(lines[0]["files_to_move"], 0, "{out}");

    let out = ctx.run(&["sync", "--config", &config, "--only", "nope"]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: [TEMP]/mirrors.toml: no mirror named `nope`

    hint: mirrors in the file: small
    ");
    let out = ctx.run(&["sync", "--config", &config]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    sync 1 mirror: 1 current, 0 failed
      small  up to date: 6 files (524.6 kB) verified, no worker started
    ----- stderr -----
    sync: 1 mirror from [TEMP]/mirrors.toml
    mirror small: up to date: 6 files (524.6 kB) verified, no worker started
    ");
    ctx.assert_no_canaries();
}

#[test]
fn retire_deletes_only_after_a_fresh_verify_and_the_exact_confirmation() {
    let ctx = TestContext::new();
    let repo = unique("it-retire");
    let id = format!("alice/{repo}");
    ctx.seed("hf", &id, &["--lfs-mb", "0.2"]);
    ctx.seed("ms", &id, &["--lfs-mb", "0.2"]);
    let (hf, ms) = (format!("hf:{id}"), format!("ms:{id}"));

    // No confirmation: says what it would do, deletes nothing.
    let out = ctx.run(&["retire", &hf, "--copy", &ms]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    same hf:model:alice/it-retire-[N]@main = ms:model:alice/it-retire-[N]@master: 6 files (210.0 kB) match (5 by git oid, 1 by sha256)
      not compared: .gitattributes (platform-generated)
    would delete model hf:model:alice/it-retire-[N]@main (6 files; its copy at ms:model:alice/it-retire-[N]@master is verified)
      nothing was deleted: re-run with --confirm alice/it-retire-[N] to delete it
    ----- stderr -----
    verifying hf:model:alice/it-retire-[N]@main against ms:model:alice/it-retire-[N]@master before deleting anything…
    ");
    // A confirmation naming another repo is refused before anything else.
    let out = ctx.run(&["retire", &hf, "--copy", &ms, "--confirm", "alice/other"]);
    assert_eq!(out.code, Some(2), "{out}");
    // A copy that stopped matching: refused even with the right confirmation.
    edit(&ctx, "ms", &id, &[], &["empty.txt"]);
    let out = ctx.run(&["retire", &hf, "--copy", &ms, "--confirm", &id, "--json"]);
    our_snapshot!(ctx, out, @r#"
    exit: 1
    ----- stdout -----
    {"bytes":209997,"dest":"ms:model:alice/it-retire-[N]@master","extra":[],"files":6,"matched":5,"matched_by":{"git_oid":4,"sha256":1},"mismatched":[],"missing":["empty.txt"],"ok":false,"platform_files":[".gitattributes"],"rewritten":[],"size_only":[],"source":"hf:model:alice/it-retire-[N]@main","type":"verify"}
    {"causes":[],"exit_code":1,"hint":"bring the copy up to date (`hubferry migrate hf:alice/it-retire-[N] --dest alice/it-retire-[N]` or `hubferry sync`), then retire again","message":"refusing to delete hf:model:alice/it-retire-[N]@main: the copy at ms:model:alice/it-retire-[N]@master is not identical (0 mismatched, 1 missing, 0 extra)","type":"error"}
    ----- stderr -----
    verifying hf:model:alice/it-retire-[N]@main against ms:model:alice/it-retire-[N]@master before deleting anything…
    error: refusing to delete hf:model:alice/it-retire-[N]@main: the copy at ms:model:alice/it-retire-[N]@master is not identical (0 mismatched, 1 missing, 0 extra)

    hint: bring the copy up to date (`hubferry migrate hf:alice/it-retire-[N] --dest alice/it-retire-[N]` or `hubferry sync`), then retire again
    "#);
    // Still there: the copy differs (exit 1), the source was not deleted (that would be exit 2).
    assert_eq!(ctx.run(&["verify", &hf, &ms]).code, Some(1));

    edit(&ctx, "ms", &id, &["empty.txt="], &[]);
    let out = ctx.run(&["retire", &hf, "--copy", &ms, "--confirm", &id, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.last_json();
    assert_eq!(
        (r["type"].as_str(), r["deleted"].as_bool()),
        (Some("retire"), Some(true)),
        "{out}"
    );
    let out = ctx.run(&["verify", &hf, &ms]);
    assert_eq!(out.code, Some(2), "the source should be gone\n{out}");
    ctx.assert_no_canaries();
}

/// Adds one sandbox fault and returns its id (for removing it again).
fn add_fault(ctx: &TestContext, spec: Value) -> u64 {
    let v = admin_json(&ctx.world.admin, "POST", "/faults", Some(&spec));
    v["added"][0]["id"].as_u64().unwrap()
}

fn download_json(out: &Output) -> Value {
    let v = out.last_json();
    assert_eq!(v["type"], "download", "{out}");
    v
}

/// The download report of a run that fetched something with `method`.
fn download_done(out: &Output, method: &str) -> Value {
    let v = download_json(out);
    assert_eq!(
        (v["status"].as_str(), v["method"].as_str()),
        (Some("done"), Some(method)),
        "{out}"
    );
    v
}

#[test]
fn git_download_resumes_after_a_failure_then_skips_the_complete_copy() {
    let ctx = TestContext::new();
    let repo = unique("it-download-git");
    let id = format!("alice/{repo}");
    // Private: git and git-lfs must carry the token (through the environment, not the URL).
    let seeded = ctx.seed("hf", &id, &["--lfs-mb", "1", "--private"]);
    let dir = ctx.path("copy");
    let dir_s = dir.display().to_string();
    let source = format!("hf:{id}");

    // Every LFS download of the weights breaks mid-file: the run fails and keeps .git.
    let fault = add_fault(
        &ctx,
        serde_json::json!({"kind": "drop", "file": "weights/*", "after_bytes": 100000,
                           "count": 100, "repo": id, "platform": "hf"}),
    );
    let mut cmd = ctx.command(&["download", &source, "--local-dir", &dir_s, "--json"]);
    // Keep git-lfs's own retries short so the failure comes quickly.
    cmd.env("GIT_CONFIG_COUNT", "2")
        .env("GIT_CONFIG_KEY_0", "lfs.transfer.maxretries")
        .env("GIT_CONFIG_VALUE_0", "1")
        .env("GIT_CONFIG_KEY_1", "lfs.transfer.maxretrydelay")
        .env("GIT_CONFIG_VALUE_1", "0");
    let out = ctx.run_command(cmd, std::time::Duration::from_secs(120));
    admin_request(
        &ctx.world.admin,
        "DELETE",
        &format!("/faults/{fault}"),
        None,
    );
    // Not a snapshot: the message quotes git-lfs, whose words and temp file names are its own.
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("hint: run the same command again"),
        "{out}"
    );
    assert!(dir.join(".git").is_dir(), "{out}");
    assert!(dir.join("config.json").is_file(), "{out}");
    let git_config = std::fs::read_to_string(dir.join(".git/config")).unwrap();
    assert!(
        !git_config.contains(HF_ALICE),
        "token written to .git/config"
    );

    let out = ctx.run(&["download", &source, "--local-dir", &dir_s, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = download_done(&out, "git");
    assert_eq!(
        v["bytes"],
        seeded["bytes"].as_u64().unwrap()
            + std::fs::metadata(dir.join(".gitattributes"))
                .map(|m| m.len())
                .unwrap_or(0)
    );
    assert!(!dir.join(".git").exists(), "{out}");
    assert_eq!(
        std::fs::metadata(dir.join("weights/model.safetensors"))
            .unwrap()
            .len(),
        1024 * 1024
    );

    let out = ctx.run(&["download", &source, "--local-dir", &dir_s]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    up to date [TEMP]/copy already holds a complete, verified copy of hf:model:alice/it-download-git-[N]@main (7 files, 1.1 MB): nothing downloaded
    ----- stderr -----
    ");

    // Someone's own git checkout is never fetched into (nor its .git removed).
    let mine = ctx.path("mine");
    std::fs::create_dir_all(&mine).unwrap();
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&mine)
        .status()
        .unwrap();
    assert!(init.success());
    let out = ctx.run(&[
        "download",
        &source,
        "--local-dir",
        &mine.display().to_string(),
    ]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: [TEMP]/mine is a git repository but not an earlier download of hf:model:alice/it-download-git-[N]@main; downloading there would overwrite its checkout

    hint: pass an empty or new directory to --local-dir
    ");
    assert!(mine.join(".git").is_dir());
    ctx.assert_no_canaries();
}

#[test]
fn git_download_of_a_private_modelscope_dataset() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-msgit"));
    let seeded = ctx.seed(
        "ms",
        &id,
        &["--repo-type", "dataset", "--lfs-mb", "0.5", "--private"],
    );
    let dir = ctx.path("copy");
    let dir_s = dir.display().to_string();
    let source = format!("ms:datasets/{id}");
    let args = [
        "download",
        &source,
        "--local-dir",
        &dir_s,
        "--method",
        "git",
        "--json",
    ];

    let out = ctx.run(&args);
    assert_eq!(out.code, Some(0), "{out}");
    download_done(&out, "git");
    for (path, size) in seeded["files"].as_object().unwrap() {
        let got = std::fs::metadata(dir.join(path)).map(|m| m.len()).ok();
        assert_eq!(got, size.as_u64(), "{path}\n{out}");
    }
    assert!(!dir.join(".git").exists(), "{out}");

    let again = ctx.run(&args);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(download_json(&again)["status"], "skipped", "{again}");
    ctx.assert_no_canaries();
}

#[test]
fn api_download_resumes_a_broken_file_with_a_range_request() {
    let ctx = TestContext::new();
    let repo = unique("it-download-api");
    let id = format!("alice/{repo}");
    ctx.seed("ms", &id, &["--lfs-mb", "1"]);
    let dir = ctx.path("copy");
    let dir_s = dir.display().to_string();
    let source = format!("ms:{id}");

    // Three broken connections: every attempt of the first run stops 100 kB further on.
    add_fault(
        &ctx,
        serde_json::json!({"kind": "drop", "file": "weights/*", "after_bytes": 100000,
                           "count": 3, "repo": id, "platform": "ms"}),
    );
    let out = ctx.run(&["download", &source, "--local-dir", &dir_s, "--json"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(dir.join("config.json").is_file(), "{out}");
    assert!(!dir.join("weights/model.safetensors").exists(), "{out}");

    let out = ctx.run(&["download", &source, "--local-dir", &dir_s, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = download_done(&out, "api");
    assert_eq!(
        v["files_fetched"], 1,
        "only the broken file is fetched again\n{out}"
    );
    let fetched = v["bytes_fetched"].as_u64().unwrap();
    assert!(
        fetched > 0 && fetched < 1024 * 1024,
        "not resumed: {fetched} bytes\n{out}"
    );
    assert!(!dir.join(".hubferry-partial").exists());

    let out = ctx.run(&["download", &source, "--local-dir", &dir_s, "--json"]);
    assert_eq!(download_json(&out)["status"], "skipped", "{out}");
}

#[test]
fn api_download_of_an_hf_lfs_file_follows_the_hubs_redirect_to_its_cdn() {
    let ctx = TestContext::new();
    let repo = unique("it-download-redirect");
    let id = format!("alice/{repo}");
    ctx.seed("hf", &id, &["--lfs-mb", "1"]);
    let dir = ctx.path("copy");
    let dir_s = dir.display().to_string();
    let out = ctx.run(&[
        "download",
        &format!("hf:{id}"),
        "--local-dir",
        &dir_s,
        "--method",
        "api",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    download_done(&out, "api");
    assert_eq!(
        std::fs::metadata(dir.join("weights/model.safetensors"))
            .unwrap()
            .len(),
        1024 * 1024,
        "{out}"
    );
    // As on the Hub: resolve answers 302, the bytes come from the CDN on another origin.
    let log = admin_json(&ctx.world.admin, "GET", "/requests?platform=hf", None);
    let of_repo = |route: &str| -> Vec<Value> {
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["route"] == route && e["method"] == "GET")
            .filter(|e| {
                let path = e["path"].as_str().unwrap_or("");
                let query = e["query"].as_str().unwrap_or("");
                path.contains(&repo) || query.contains(&repo)
            })
            .cloned()
            .collect()
    };
    let resolves = of_repo("resolve");
    assert!(
        resolves
            .iter()
            .any(|e| e["status"] == 302
                && e["path"].as_str().unwrap().ends_with("model.safetensors")),
        "{resolves:?}"
    );
    let bridged = of_repo("bridge");
    assert!(
        bridged
            .iter()
            .any(|e| e["status"] == 200 && e["bytes_out"] == 1024 * 1024),
        "{bridged:?}"
    );
    ctx.assert_no_canaries();
}

#[test]
fn inventory_lists_an_org_with_visibility_sizes_and_backup_states() {
    let ctx = TestContext::new();
    let (public, private, gated) = (
        unique("inv-public"),
        unique("inv-private"),
        unique("inv-gated"),
    );
    // Backed up and identical.
    let seeded = ctx.seed("hf", &format!("acme/{public}"), &["--lfs-mb", "0.2"]);
    ctx.seed("ms", &format!("acme-ms/{public}"), &["--lfs-mb", "0.2"]);
    // Never backed up.
    ctx.seed(
        "hf",
        &format!("acme/{private}"),
        &["--lfs-mb", "0.1", "--private", "--repo-type", "dataset"],
    );
    // Gated, and its copy is out of date (other content).
    ctx.seed("hf", &format!("acme/{gated}"), &["--lfs-mb", "0.2"]);
    edit_with(
        &ctx,
        "hf",
        &format!("acme/{gated}"),
        &[],
        &[],
        &["--gated", "auto"],
    );
    ctx.seed(
        "ms",
        &format!("acme-ms/{gated}"),
        &["--lfs-mb", "0.2", "--seed", "2"],
    );

    let out = ctx.run(&[
        "inventory",
        "acme",
        "--on",
        "hf",
        "--check-backup",
        "--dest-namespace",
        "acme-ms",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = out.last_json();
    assert_eq!(v["type"], "inventory", "{out}");
    let repos = v["repos"].as_array().unwrap();
    let row = |name: &str| {
        repos
            .iter()
            .find(|r| r["id"] == format!("acme/{name}"))
            .unwrap_or_else(|| panic!("acme/{name} not listed\n{out}"))
            .clone()
    };
    let r = row(&public);
    assert_eq!(
        (r["repo_type"].as_str(), r["private"].as_bool()),
        (Some("model"), Some(false))
    );
    assert_eq!(r["backup"], "verified", "{out}");
    assert_eq!(
        r["files"],
        seeded["files"].as_object().unwrap().len() as u64,
        "{out}"
    );
    assert_eq!(r["bytes"], seeded["bytes"], "{out}");
    assert!(
        r["created"].as_str().is_some_and(|d| d.len() >= 10),
        "{out}"
    );
    let r = row(&private);
    assert_eq!(
        (r["repo_type"].as_str(), r["private"].as_bool()),
        (Some("dataset"), Some(true))
    );
    assert_eq!(r["backup"], "missing", "{out}");
    let r = row(&gated);
    assert_eq!(r["gated"], true, "{out}");
    assert_eq!(r["backup"], "partial", "{out}");
    // Sorted: models first, then datasets, by name.
    let types: Vec<&str> = repos
        .iter()
        .map(|r| r["repo_type"].as_str().unwrap())
        .collect();
    let first_dataset = types.iter().position(|t| *t == "dataset").unwrap();
    assert!(
        types[..first_dataset].iter().all(|t| *t == "model"),
        "{types:?}"
    );

    let out = ctx.run(&[
        "inventory",
        "acme",
        "--on",
        "hf",
        "--check-backup",
        "--dest-namespace",
        "acme-ms",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.starts_with("TYPE"), "{out}");
    let line = out.stdout.lines().find(|l| l.contains(&private)).unwrap();
    assert!(
        line.contains("private") && line.ends_with("missing"),
        "{line}"
    );
    let line = out.stdout.lines().find(|l| l.contains(&gated)).unwrap();
    assert!(
        line.contains("gated") && line.ends_with("partial"),
        "{line}"
    );

    // The other way round: ModelScope's org listed, copies looked for on HF.
    let out = ctx.run(&["inventory", "acme-ms", "--on", "ms", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let v = out.last_json();
    assert!(
        v["repos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == format!("acme-ms/{public}")),
        "{out}"
    );
}

#[test]
fn sync_into_hf_counts_the_rewritten_license_line_as_unchanged() {
    let ctx = TestContext::new();
    let repo = unique("it-sync-license");
    let id = format!("alice/{repo}");
    ctx.seed("ms", &id, &["--lfs-mb", "0.2"]);
    // ModelScope's free-form license name; migrate writes `apache-2.0` on the HF side.
    edit(
        &ctx,
        "ms",
        &id,
        &["README.md=---\nlicense: Apache License 2.0\n---\n# hubferry sample 1\n"],
        &[],
    );
    let config = one_mirror(&ctx, "back", &format!("ms:{id}"), &format!("hf:{id}"), "");
    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.last_json()["changed"], true, "{out}");
    let started = workers_started(&ctx);

    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.last_json();
    assert_eq!(
        (r["changed"].as_bool(), r["files_moved"].as_u64()),
        (Some(false), Some(0)),
        "{out}"
    );
    assert_eq!(r["verified"], true, "{out}");
    assert_eq!(
        workers_started(&ctx),
        started,
        "the rewritten README started a worker"
    );

    let out = ctx.run(&["verify", &format!("ms:{id}"), &format!("hf:{id}"), "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        strings(&verify_json(&out)["rewritten"]),
        ["README.md"],
        "{out}"
    );
}

/// Runs `sync --json` and checks it verified, with (`changed`, `files_moved`) as given.
fn synced(ctx: &TestContext, config: &str, want: (bool, u64)) {
    let out = ctx.run(&["sync", "--config", config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let r = out.last_json();
    let got = (r["changed"].as_bool(), r["files_moved"].as_u64());
    assert_eq!(got, (Some(want.0), Some(want.1)), "{out}");
    assert_eq!(r["verified"], true, "{out}");
}

#[test]
fn sync_of_a_dataset_whose_jsonl_is_lfs_only_on_modelscope_starts_no_worker_when_unchanged() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-sync-jsonl"));
    ctx.seed("hf", &id, &["--repo-type", "dataset", "--lfs-mb", "0.2"]);
    let config = one_mirror(
        &ctx,
        "data",
        &format!("hf:datasets/{id}"),
        &format!("ms:{id}"),
        "repo_type = \"dataset\"\n",
    );
    let out = ctx.run(&["sync", "--config", &config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let started = workers_started(&ctx);

    // ModelScope keeps the .jsonl in LFS (sha256 listed), HF inline (git blob id): no shared id.
    // A dry run predicts what the sync will do: current.
    let dry = ctx.run(&["sync", "--config", &config, "--dry-run", "--json"]);
    assert_eq!(dry.code, Some(0), "{dry}");
    let plan = dry.last_json();
    assert_eq!(
        (plan["type"].as_str(), plan["settled_by_content"].as_bool()),
        (Some("plan"), Some(true)),
        "{dry}"
    );
    synced(&ctx, &config, (false, 0));
    assert_eq!(
        workers_started(&ctx),
        started,
        "an unchanged mirror started a worker"
    );

    // Same size, other bytes (seed.py writes `{"text": "你好"}` lines): the content check must
    // still see the change.
    let jsonl = "数据/训练 集.jsonl";
    let new = "{\"text\": \"您好\"}\n".repeat(5);
    edit_with(
        &ctx,
        "hf",
        &id,
        &[&format!("{jsonl}={new}")],
        &[],
        &["--repo-type", "dataset"],
    );
    synced(&ctx, &config, (true, 1));
    ctx.assert_no_canaries();
}
