//! `hubferry migrate … --dry-run` through the real binary against the real hub sandbox: the plan
//! (`--json`) in both directions, type detection, diffs against existing destinations, chunking,
//! visibility, and every kind of bad input with its message, `hint:` and exit code.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::sandbox::{Sandbox, HF_ALICE, MS_ALICE};

/// One finished `hubferry` run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The plan object printed by `--dry-run --json`.
    fn plan(&self) -> Value {
        assert_eq!(
            self.code, 0,
            "hubferry failed:\n{}\n{}",
            self.stdout, self.stderr
        );
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["type"] == "plan")
            .unwrap_or_else(|| panic!("no plan object on stdout:\n{}", self.stdout))
    }

    /// Asserts a refusal with `code`, a message containing every `needle`, and a hint.
    fn refused(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code, code,
            "wrong exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        assert!(self.stderr.contains("hint:"), "no hint:\n{}", self.stderr);
    }
}

/// Runs `hubferry ARGS` as alice against `sb`, in a sealed environment; `env` overrides (an empty
/// value removes the variable). Every run is also checked for token leaks.
fn hubferry(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = sb.scratch().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hubferry"));
    cmd.args(args).current_dir(&home).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1");
    for (k, v) in sb.client_env() {
        cmd.env(k, v);
    }
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().expect("hubferry runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in [HF_ALICE, MS_ALICE, "hf_wrongTOKEN", "ms-wrong-TOKEN"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a token leaked in {args:?}"
        );
    }
    run
}

fn paths(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect()
}

const BIG: usize = 150_000; // above both hubs' LFS thresholds

#[test]
fn dry_run_plans_both_directions() {
    let sb = Sandbox::start();
    let big = "w".repeat(BIG);
    sb.seed(&json!([
        {"platform": "hf", "id": "alice/tiny",
         "files": {"README.md": "# tiny\n", "config.json": "{}", "model.bin": big, "sub/dir/a.txt": "a", "sub/b.txt": "b"}},
        {"platform": "hf", "id": "acme/data", "type": "dataset", "files": {"train.csv": "a,b\n1,2\n"}},
        {"platform": "hf", "id": "alice/secret", "private": true, "files": {"w.bin": big}},
        {"platform": "ms", "id": "alice/msm", "files": {"README.md": "# m\n", "w.bin": big}},
        // An earlier partial copy of alice/tiny: same model.bin, a stale file.
        {"platform": "ms", "id": "alice/tiny", "files": {"model.bin": big, "stale.txt": "old"}},
        {"platform": "ms", "id": "acme-ms/existing", "type": "dataset", "files": {"x.txt": "x"}},
    ]));

    // HF → MS, type detected, default destination, diff against the existing copy.
    let plan = hubferry(
        &sb,
        &["migrate", "hf:alice/tiny", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(
        plan["source"],
        json!({"platform": "hf", "repo_type": "model", "id": "alice/tiny", "revision": "main"})
    );
    assert_eq!(
        plan["dest"],
        json!({"platform": "ms", "repo_type": "model", "id": "alice/tiny", "revision": "master"})
    );
    assert_eq!(plan["source_sha"].as_str().unwrap().len(), 40);
    assert_eq!(plan["dest_exists"], true);
    assert_eq!(plan["dest_visibility"], "public");
    assert_eq!(
        plan["source_files"]["files"], 6,
        "5 files and HF's .gitattributes"
    );
    assert_eq!(
        paths(&plan["to_skip"]),
        vec![".gitattributes", "model.bin"],
        "sha256 equal on both hubs"
    );
    assert_eq!(
        paths(&plan["to_move"]),
        vec!["README.md", "config.json", "sub/b.txt", "sub/dir/a.txt"]
    );
    assert_eq!(
        plan["bytes_to_skip"].as_u64().unwrap(),
        plan["to_skip"][0]["size"].as_u64().unwrap() + BIG as u64
    );
    assert_eq!(plan["files_to_delete"], 0);
    assert_eq!(plan["dest_extra"], 1);
    assert_eq!(plan["chunks"].as_array().unwrap().len(), 1);
    assert!(plan["dest_url"]
        .as_str()
        .unwrap()
        .ends_with("/models/alice/tiny"));
    assert!(plan["eta_s"].as_f64().unwrap() > 0.0);
    let model = plan["to_skip"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "model.bin")
        .unwrap();
    assert_eq!(model["sha256"].as_str().unwrap().len(), 64);

    // --delete, globs, tiny chunks.
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/tiny",
            "--dry-run",
            "--json",
            "--delete",
            "--yes",
        ],
        &[],
    )
    .plan();
    assert_eq!(paths(&plan["to_delete"]), vec!["stale.txt"]);
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/tiny",
            "--dry-run",
            "--json",
            "--include",
            "sub/*",
            "--exclude",
            "*/dir/*",
        ],
        &[],
    )
    .plan();
    assert_eq!(paths(&plan["to_move"]), vec!["sub/b.txt"]);
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/tiny",
            "--to",
            "ms",
            "--dest",
            "alice/tiny-copy",
            "--parallel",
            "--chunk-size",
            "0.000000001",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["dest_exists"], false);
    let chunks = plan["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 5, "one chunk per file with a tiny chunk size");
    assert_eq!(
        chunks
            .iter()
            .map(|c| c["file_count"].as_u64().unwrap())
            .sum::<u64>(),
        5
    );

    // A dataset found by detection, given as a web URL, into an org namespace.
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "https://huggingface.co/acme/data",
            "--repo-type",
            "dataset",
            "--dest",
            "acme-ms/data",
            "--dry-run",
            "--json",
        ],
        &[("HUBFERRY_MS_ORGS", "acme-ms")],
    );
    assert_eq!(
        plan.code, 2,
        "the URL says model, --repo-type says dataset:\n{}",
        plan.stderr
    );
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:acme/data",
            "--dest",
            "acme-ms/data",
            "--dry-run",
            "--json",
        ],
        &[("HUBFERRY_MS_ORGS", "acme-ms")],
    )
    .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["dest"]["id"], "acme-ms/data");
    // An existing repo in a ModelScope org: accepted, with a warning that access is unchecked.
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:acme/data",
            "--dest",
            "acme-ms/existing",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("ModelScope cannot say"), "{warnings}");
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "https://huggingface.co/datasets/acme/data/tree/main",
            "--dest",
            "alice/data",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    // URLs of the configured endpoint (a mirror, here the sandbox) work like the hub's own.
    let url = format!("{}/datasets/acme/data/tree/main", sb.hf_endpoint);
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            &url,
            "--dest",
            "alice/data",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["source"]["id"], "acme/data");

    // A private source stays private, and refuses to go public.
    let plan = hubferry(
        &sb,
        &["migrate", "hf:alice/secret", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(
        (
            plan["source_private"].clone(),
            plan["dest_visibility"].clone()
        ),
        (json!(true), json!("private"))
    );
    hubferry(
        &sb,
        &["migrate", "hf:alice/secret", "--public", "--dry-run"],
        &[],
    )
    .refused(2, &["hf:", "alice/secret", "public"]);
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/secret",
            "--public",
            "--allow-public-gated",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["dest_visibility"], "public");
    // An existing public repo keeps its visibility: refused unless accepted.
    hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/secret",
            "--dest",
            "alice/msm",
            "--dry-run",
        ],
        &[],
    )
    .refused(2, &["ms:", "alice/msm", "would become public"]);

    // A gated source becomes private, and bob (not granted access) is stopped before any transfer.
    sb.admin_post(
        "/repos/settings",
        &json!({"platform": "hf", "type": "model", "id": "alice/tiny", "gated": "manual"}),
    );
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/tiny",
            "--dest",
            "alice/gated-copy",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(
        (
            plan["source_gated"].clone(),
            plan["dest_visibility"].clone()
        ),
        (json!(true), json!("private"))
    );
    hubferry(
        &sb,
        &[
            "migrate",
            "hf:alice/tiny",
            "--dest",
            "alice/gated-copy",
            "--public",
            "--dry-run",
        ],
        &[],
    )
    .refused(2, &["gated", "public"]);
    hubferry(
        &sb,
        &["migrate", "hf:alice/tiny", "--to", "ms", "--dry-run"],
        &[("HF_TOKEN", crate::support::sandbox::HF_BOB)],
    )
    .refused(3, &["gated", "bob"]);
    hubferry(
        &sb,
        &["migrate", "hf:alice/tiny", "--dry-run"],
        &[("HF_TOKEN", "")],
    )
    .refused(3, &["gated", "HF_TOKEN"]);

    // MS → HF, into the HF org; HF `main` as the destination branch.
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "modelscope:alice/msm",
            "--dest",
            "acme/msm",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["source"]["revision"], "master");
    assert_eq!(
        plan["dest"],
        json!({"platform": "hf", "repo_type": "model", "id": "acme/msm", "revision": "main"})
    );
    let moved = paths(&plan["to_move"]);
    assert!(
        moved.contains(&"README.md") && moved.contains(&"w.bin"),
        "{moved:?}"
    );
    let plan = hubferry(
        &sb,
        &[
            "migrate",
            "https://modelscope.cn/models/alice/msm/files",
            "--dry-run",
            "--json",
        ],
        &[],
    )
    .plan();
    assert_eq!(plan["dest"]["id"], "alice/msm");
}

#[test]
fn bad_inputs_are_refused_with_hints_and_exit_codes() {
    let sb = Sandbox::start();
    sb.seed(&json!([
        {"platform": "hf", "id": "alice/tiny", "files": {"a.txt": "a"}},
        {"platform": "ms", "id": "alice/msm", "files": {"a.txt": "a"}},
    ]));
    let dry = |source: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["migrate", source];
        args.extend_from_slice(extra);
        args.push("--dry-run");
        hubferry(&sb, &args, env)
    };

    // Malformed ids and sources (exit 2).
    dry("hf:alice", &[], &[]).refused(2, &["hf:alice"]);
    dry("hf:alice/ti ny", &[], &[]).refused(2, &["alice/ti ny"]);
    dry("hf:a/b/c/d", &[], &[]).refused(2, &["a/b/c/d"]);
    dry("alice/tiny", &[], &[]).refused(2, &["alice/tiny", "--to"]);
    dry("hf:alice/tiny", &["--dest", "nonamespace"], &[]).refused(2, &["nonamespace"]);
    // URLs of other sites.
    dry("https://github.com/alice/tiny", &[], &[]).refused(2, &["github.com"]);
    dry("https://example.com/models/alice/tiny", &[], &[]).refused(2, &["example.com"]);
    // Same platform both sides.
    dry("hf:alice/tiny", &["--to", "hf"], &[]).refused(2, &["hf:alice/tiny", "Hugging Face"]);
    dry(
        "https://modelscope.cn/models/alice/msm",
        &["--to", "ms"],
        &[],
    )
    .refused(2, &["ModelScope"]);
    // A source that does not exist (a typo).
    dry("hf:alice/tinny", &[], &[]).refused(2, &["hf:alice/tinny", "not found"]);
    dry("hf:alice/tiny@nope", &[], &[]).refused(2, &["nope"]);
    dry("ms:alice/msm@nope", &[], &[]).refused(2, &["ms:alice/msm", "nope"]);

    // Unknown destination namespaces (exit 3), before any container starts.
    dry("hf:alice/tiny", &["--dest", "acmee/tiny"], &[]).refused(3, &["acmee", "alice"]);
    dry("ms:alice/msm", &["--dest", "acmee/msm"], &[]).refused(3, &["acmee", "alice", "acme"]);
    dry(
        "ms:alice/msm",
        &["--dest", "acme/msm"],
        &[("HF_TOKEN", crate::support::sandbox::HF_BOB)],
    )
    .refused(3, &["acme", "bob"]);

    // Wrong or missing tokens (exit 3).
    dry("hf:alice/tiny", &[], &[("HF_TOKEN", "hf_wrongTOKEN")])
        .refused(3, &["Hugging Face token", "HF_TOKEN"]);
    dry(
        "hf:alice/tiny",
        &[],
        &[("MODELSCOPE_API_TOKEN", "ms-wrong-TOKEN")],
    )
    .refused(3, &["ModelScope token", "MODELSCOPE_API_TOKEN"]);
    dry("hf:alice/tiny", &[], &[("MODELSCOPE_API_TOKEN", "")])
        .refused(3, &["ModelScope", "MODELSCOPE_API_TOKEN"]);
    dry("ms:alice/msm", &[], &[("HF_TOKEN", "")]).refused(3, &["Hugging Face", "HF_TOKEN"]);
    // The seed's variable name works too.
    let ok = dry(
        "hf:alice/tiny",
        &[],
        &[("MODELSCOPE_API_TOKEN", ""), ("MODELSCOPE_TOKEN", MS_ALICE)],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    // A .env file in the working directory fills in what the environment leaves unset, and
    // never overrides what it sets.
    let dotenv = sb.scratch().join("home/.env");
    std::fs::write(
        &dotenv,
        format!("MODELSCOPE_API_TOKEN={MS_ALICE}\nHF_TOKEN=hf_wrongTOKEN\n"),
    )
    .unwrap();
    let ok = dry("hf:alice/tiny", &[], &[("MODELSCOPE_API_TOKEN", "")]);
    std::fs::remove_file(&dotenv).unwrap();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn hub_faults_are_retried_or_reported_with_the_step() {
    let sb = Sandbox::start();
    sb.seed(&json!([
        {"platform": "hf", "id": "alice/tiny", "files": {"a.txt": "a", "b.txt": "b"}},
        {"platform": "ms", "id": "alice/msm", "files": {"a.txt": "a"}},
    ]));
    // Rate limits and a transient 5xx on the listings are retried (honouring Retry-After).
    sb.admin_post(
        "/faults",
        &json!({"faults": [
            {"kind": "rate_limit", "count": 2, "retry_after": 1, "platform": "hf", "path": "/tree/"},
            {"kind": "server_error", "count": 1, "status": 502, "platform": "ms", "path": "/repo/files"},
        ]}),
    );
    let plan = hubferry(
        &sb,
        &["migrate", "hf:alice/tiny", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(plan["files_to_move"], 2, ".gitattributes is the hub's own");
    let plan = hubferry(
        &sb,
        &["migrate", "ms:alice/msm", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(plan["source_files"]["files"], 2);
    let left = sb.admin_request("GET", "/faults", None);
    assert_eq!(left["faults"], json!([]), "every fault fired");

    // A hub that keeps failing: exit 1, naming the repo, the step and the hub's answer.
    sb.admin_post(
        "/faults",
        &json!({"kind": "server_error", "count": null, "status": 503, "platform": "hf", "path": "/tree/"}),
    );
    let run = hubferry(&sb, &["migrate", "hf:alice/tiny", "--dry-run"], &[]);
    run.refused(1, &["listing the source files", "hf:", "alice/tiny", "503"]);
    sb.admin_request("DELETE", "/faults", None);
    assert_eq!(
        hubferry(&sb, &["migrate", "hf:alice/tiny", "--dry-run"], &[]).code,
        0
    );
}

#[test]
fn large_listings_are_paged_and_relisted() {
    // HF pages of 100 entries; a ModelScope model past the 3000-entry cap of `repo/files` (re-listed
    // per directory); a ModelScope dataset over many `repo/tree` pages.
    let sb = Sandbox::start_with(&["--page-size", "100"]);
    sb.seed(&json!([
        {"platform": "hf", "id": "alice/hfmany", "many": 450},
        {"platform": "ms", "id": "alice/msmany", "many": 3100},
        {"platform": "ms", "id": "alice/msdata", "type": "dataset", "many": 450},
    ]));
    let plan = hubferry(
        &sb,
        &["migrate", "hf:alice/hfmany", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(
        plan["source_files"]["files"], 451,
        "450 files and .gitattributes"
    );
    assert_eq!(plan["files_to_move"], 450);
    let plan = hubferry(
        &sb,
        &["migrate", "ms:alice/msmany", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(plan["source_files"]["files"], 3101);
    let mut moved = paths(&plan["to_move"]);
    moved.dedup();
    assert_eq!(moved.len(), 3100, "every file once");
    let plan = hubferry(
        &sb,
        &["migrate", "ms:alice/msdata", "--dry-run", "--json"],
        &[],
    )
    .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["source_files"]["files"], 451);
}
