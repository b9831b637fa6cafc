//! Mirror commands end to end against the hub sandbox (and the local worker where bytes move):
//! `verify`, `sync`, `retire`, `download`, `inventory`.
//!
//! Identical copies are made by seeding both hubs with the same deterministic sample (seed.py),
//! which is much faster than migrating; changes go through the official clients
//! (`mirrors_edit.py`).

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{root, unique, Output, TestContext, HF_ALICE, MS_ALICE};

/// Puts (`PATH=TEXT`) and deletes paths in one repo through the official client.
fn edit(ctx: &TestContext, platform: &str, repo_id: &str, puts: &[&str], deletes: &[&str]) {
    let mut cmd = Command::new(root().join(".venv/bin/python"));
    cmd.arg(root().join("tests/it/mirrors_edit.py"))
        .args(["--platform", platform, "--repo-id", repo_id])
        .env("HF_ENDPOINT", &ctx.world.hf_endpoint)
        .env("HF_TOKEN", HF_ALICE)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("MODELSCOPE_ENDPOINT", &ctx.world.ms_endpoint)
        .env("MODELSCOPE_API_TOKEN", MS_ALICE)
        .env("HOME", ctx.path("home"))
        .stdin(Stdio::null());
    for p in puts {
        cmd.args(["--put", p]);
    }
    for d in deletes {
        cmd.args(["--delete", d]);
    }
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

    let out = ctx.run(&["verify", &hf, &ms]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stdout.contains("DIFFERENT"), "{out}");
    assert!(out.stdout.contains("mismatched config.json"), "{out}");

    let out = ctx.run(&["verify", &hf, "ms:alice/no-such-repo-anywhere"]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("hint:"), "{out}");
    ctx.assert_no_canaries();
}
