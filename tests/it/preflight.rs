//! `hubferry migrate … --dry-run` through the real binary against the real hub sandbox: the plan
//! (`--json`) in both directions, type detection, diffs against existing destinations, chunking,
//! visibility, and every kind of bad input with its message, `hint:` and exit code (snapshots).

use serde_json::{json, Value};

use crate::our_snapshot;
use crate::support::snapshot::Transcript;
use crate::support::{unique, Output, TestContext, HF_BOB, HF_WRONG, MS_ALICE, MS_WRONG};

/// `hubferry ARGS` (with the environment changes `env`) added to `log` under its command line.
fn logged(
    ctx: &TestContext,
    log: &mut Transcript,
    args: &[&str],
    env: &[(&str, Option<&str>)],
) -> Output {
    let out = ctx.run_with_env(args, env);
    let note: Vec<String> = env
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={}", token_name(v)),
            None => format!("-u {k}"),
        })
        .collect();
    log.push_noted(args, &note.join(" "), &out);
    out
}

/// A token's role in a transcript (the value itself is a secret).
fn token_name(value: &str) -> &str {
    match value {
        v if v == HF_BOB => "[HF_BOB]",
        v if v == HF_WRONG => "[HF_WRONG]",
        v if v == MS_ALICE => "[MS_ALICE]",
        v if v == MS_WRONG => "[MS_WRONG]",
        v => v,
    }
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
    let ctx = TestContext::new();
    let (tiny, data, secret, msm, existing) = (
        unique("pf-tiny"),
        unique("pf-data"),
        unique("pf-secret"),
        unique("pf-msm"),
        unique("pf-existing"),
    );
    let big = "w".repeat(BIG);
    ctx.seed_spec(&json!([
        {"platform": "hf", "id": format!("alice/{tiny}"),
         "files": {"README.md": "# tiny\n", "config.json": "{}", "model.bin": big, "sub/dir/a.txt": "a", "sub/b.txt": "b"}},
        {"platform": "hf", "id": format!("acme/{data}"), "type": "dataset", "files": {"train.csv": "a,b\n1,2\n"}},
        {"platform": "hf", "id": format!("alice/{secret}"), "private": true, "files": {"w.bin": big}},
        {"platform": "ms", "id": format!("alice/{msm}"), "files": {"README.md": "# m\n", "w.bin": big}},
        // An earlier partial copy of the tiny repo: same model.bin, a stale file.
        {"platform": "ms", "id": format!("alice/{tiny}"), "files": {"model.bin": big, "stale.txt": "old"}},
        {"platform": "ms", "id": format!("acme-ms/{existing}"), "type": "dataset", "files": {"x.txt": "x"}},
    ]));
    let hf_tiny = format!("hf:alice/{tiny}");
    let hf_secret = format!("hf:alice/{secret}");
    let mut refusals = Transcript::default();

    // HF → MS, type detected, default destination, diff against the existing copy.
    let plan = ctx
        .run(&["migrate", &hf_tiny, "--dry-run", "--json"])
        .plan();
    assert_eq!(
        plan["source"],
        json!({"platform": "hf", "repo_type": "model", "id": format!("alice/{tiny}"), "revision": "main"})
    );
    assert_eq!(
        plan["dest"],
        json!({"platform": "ms", "repo_type": "model", "id": format!("alice/{tiny}"), "revision": "master"})
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
        .ends_with(&format!("/models/alice/{tiny}")));
    assert!(plan["eta_s"].as_f64().unwrap() > 0.0);
    let model = plan["to_skip"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "model.bin")
        .unwrap();
    assert_eq!(model["sha256"].as_str().unwrap().len(), 64);

    // The same plan as a person reads it, with --delete.
    our_snapshot!(
        ctx,
        ctx.run(&["migrate", &hf_tiny, "--dry-run", "--delete", "--yes"]),
        @"
    exit: 0
    ----- stdout -----
    plan hf:model:alice/pf-tiny-[N]@main → ms:model:alice/pf-tiny-[N]@master (exists, public)
      move 4 files (11 B), skip 1 (150.0 kB), platform files 1 (.gitattributes), delete 1; 1 chunk; eta [DURATION]
      estimate: [N] container-s ≈ [USD] at Modal's published prices (2 cores, 4.0 GiB each); default rates (no earlier run in this direction)
      streams per container: 4 downloads, 4 uploads
      rates:    [RATE] per container, [RATE] shared by all chunks, [DURATION] start, [DURATION] per file
      chunk   1: 4 files, 11 B
      + README.md (7 B)
      + config.json (2 B)
      + sub/b.txt (1 B)
      + sub/dir/a.txt (1 B)
      - stale.txt
      url: [MS_ENDPOINT]/models/alice/pf-tiny-[N]
    dry run: nothing was moved
    ----- stderr -----
    "
    );

    // --delete, globs, tiny chunks.
    let plan = ctx
        .run(&[
            "migrate",
            &hf_tiny,
            "--dry-run",
            "--json",
            "--delete",
            "--yes",
        ])
        .plan();
    assert_eq!(paths(&plan["to_delete"]), vec!["stale.txt"]);
    let plan = ctx
        .run(&[
            "migrate",
            &hf_tiny,
            "--dry-run",
            "--json",
            "--include",
            "sub/*",
            "--exclude",
            "*/dir/*",
        ])
        .plan();
    assert_eq!(paths(&plan["to_move"]), vec!["sub/b.txt"]);
    let plan = ctx
        .run(&[
            "migrate",
            &hf_tiny,
            "--to",
            "ms",
            "--dest",
            &format!("alice/{tiny}-copy"),
            "--parallel",
            "--chunk-size",
            "0.000000001",
            "--dry-run",
            "--json",
        ])
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
    let ms_orgs = [("HUBFERRY_MS_ORGS", Some("acme-ms"))];
    let url_as_model = format!("https://huggingface.co/acme/{data}");
    let dest_data = format!("acme-ms/{data}");
    let out = ctx.run_with_env(
        &[
            "migrate",
            &url_as_model,
            "--repo-type",
            "dataset",
            "--dest",
            &dest_data,
            "--dry-run",
            "--json",
        ],
        &ms_orgs,
    );
    assert_eq!(
        out.code,
        Some(2),
        "the URL says model, --repo-type says dataset:\n{out}"
    );
    let hf_data = format!("hf:acme/{data}");
    let plan = ctx
        .run_with_env(
            &[
                "migrate",
                &hf_data,
                "--dest",
                &dest_data,
                "--dry-run",
                "--json",
            ],
            &ms_orgs,
        )
        .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["dest"]["id"], dest_data);
    // An existing repo in a ModelScope org: accepted, with a warning that access is unchecked.
    let plan = ctx
        .run(&[
            "migrate",
            &hf_data,
            "--dest",
            &format!("acme-ms/{existing}"),
            "--dry-run",
            "--json",
        ])
        .plan();
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("ModelScope cannot say"), "{warnings}");
    let plan = ctx
        .run(&[
            "migrate",
            &format!("https://huggingface.co/datasets/acme/{data}/tree/main"),
            "--dest",
            &format!("alice/{data}"),
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    // URLs of the configured endpoint (a mirror, here the sandbox) work like the hub's own.
    let url = format!("{}/datasets/acme/{data}/tree/main", ctx.world.hf_endpoint);
    let plan = ctx
        .run(&[
            "migrate",
            &url,
            "--dest",
            &format!("alice/{data}"),
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["source"]["id"], format!("acme/{data}"));

    // A private source stays private, and refuses to go public.
    let plan = ctx
        .run(&["migrate", &hf_secret, "--dry-run", "--json"])
        .plan();
    assert_eq!(
        (
            plan["source_private"].clone(),
            plan["dest_visibility"].clone()
        ),
        (json!(true), json!("private"))
    );
    logged(
        &ctx,
        &mut refusals,
        &["migrate", &hf_secret, "--public", "--dry-run"],
        &[],
    );
    let plan = ctx
        .run(&[
            "migrate",
            &hf_secret,
            "--public",
            "--allow-public-gated",
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(plan["dest_visibility"], "public");
    // An existing public repo keeps its visibility: refused unless accepted.
    logged(
        &ctx,
        &mut refusals,
        &[
            "migrate",
            &hf_secret,
            "--dest",
            &format!("alice/{msm}"),
            "--dry-run",
        ],
        &[],
    );

    // A gated source becomes private, and bob (not granted access) is stopped before any transfer.
    ctx.admin(
        "POST",
        "/repos/settings",
        Some(&json!({"platform": "hf", "type": "model", "id": format!("alice/{tiny}"), "gated": "manual"})),
    );
    let gated_copy = format!("alice/{tiny}-gated-copy");
    let plan = ctx
        .run(&[
            "migrate",
            &hf_tiny,
            "--dest",
            &gated_copy,
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(
        (
            plan["source_gated"].clone(),
            plan["dest_visibility"].clone()
        ),
        (json!(true), json!("private"))
    );
    logged(
        &ctx,
        &mut refusals,
        &[
            "migrate",
            &hf_tiny,
            "--dest",
            &gated_copy,
            "--public",
            "--dry-run",
        ],
        &[],
    );
    logged(
        &ctx,
        &mut refusals,
        &["migrate", &hf_tiny, "--to", "ms", "--dry-run"],
        &[("HF_TOKEN", Some(HF_BOB))],
    );
    logged(
        &ctx,
        &mut refusals,
        &["migrate", &hf_tiny, "--dry-run"],
        &[("HF_TOKEN", None)],
    );
    // Each refusal: exit 2 (bad input) or 3 (access), a message naming the repo, and a hint.
    our_snapshot!(ctx, "visibility_refusals", refusals);

    // MS → HF, into the HF org; HF `main` as the destination branch.
    let plan = ctx
        .run(&[
            "migrate",
            &format!("modelscope:alice/{msm}"),
            "--dest",
            &format!("acme/{msm}"),
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(plan["source"]["revision"], "master");
    assert_eq!(
        plan["dest"],
        json!({"platform": "hf", "repo_type": "model", "id": format!("acme/{msm}"), "revision": "main"})
    );
    let moved = paths(&plan["to_move"]);
    assert!(
        moved.contains(&"README.md") && moved.contains(&"w.bin"),
        "{moved:?}"
    );
    let plan = ctx
        .run(&[
            "migrate",
            &format!("https://modelscope.cn/models/alice/{msm}/files"),
            "--dry-run",
            "--json",
        ])
        .plan();
    assert_eq!(plan["dest"]["id"], format!("alice/{msm}"));
    ctx.assert_no_canaries();
}

#[test]
fn bad_inputs_are_refused_with_hints_and_exit_codes() {
    let ctx = TestContext::new();
    let (tiny, msm) = (unique("pf-bad-tiny"), unique("pf-bad-msm"));
    ctx.seed_spec(&json!([
        {"platform": "hf", "id": format!("alice/{tiny}"), "files": {"a.txt": "a"}},
        {"platform": "ms", "id": format!("alice/{msm}"), "files": {"a.txt": "a"}},
    ]));
    let mut refusals = Transcript::default();
    let mut dry = |source: &str, extra: &[&str], env: &[(&str, Option<&str>)]| {
        let mut args = vec!["migrate", source];
        args.extend_from_slice(extra);
        args.push("--dry-run");
        logged(&ctx, &mut refusals, &args, env)
    };
    let hf_tiny = format!("hf:alice/{tiny}");
    let ms_msm = format!("ms:alice/{msm}");

    // Malformed ids and sources (exit 2).
    dry("hf:alice", &[], &[]);
    dry("hf:alice/ti ny", &[], &[]);
    dry("hf:a/b/c/d", &[], &[]);
    dry(&format!("alice/{tiny}"), &[], &[]);
    dry(&hf_tiny, &["--dest", "nonamespace"], &[]);
    // URLs of other sites.
    dry(&format!("https://github.com/alice/{tiny}"), &[], &[]);
    dry(
        &format!("https://example.com/models/alice/{tiny}"),
        &[],
        &[],
    );
    // Same platform both sides.
    dry(&hf_tiny, &["--to", "hf"], &[]);
    dry(
        &format!("https://modelscope.cn/models/alice/{msm}"),
        &["--to", "ms"],
        &[],
    );
    // A source that does not exist (a typo), or a revision it lacks.
    dry(&format!("hf:alice/{tiny}x"), &[], &[]);
    dry(&format!("{hf_tiny}@nope"), &[], &[]);
    dry(&format!("{ms_msm}@nope"), &[], &[]);

    // Unknown destination namespaces (exit 3), before any container starts.
    dry(&hf_tiny, &["--dest", &format!("acmee/{tiny}")], &[]);
    dry(&ms_msm, &["--dest", &format!("acmee/{msm}")], &[]);
    dry(
        &ms_msm,
        &["--dest", &format!("acme/{msm}")],
        &[("HF_TOKEN", Some(HF_BOB))],
    );

    // Wrong or missing tokens (exit 3).
    dry(&hf_tiny, &[], &[("HF_TOKEN", Some(HF_WRONG))]);
    dry(&hf_tiny, &[], &[("MODELSCOPE_API_TOKEN", Some(MS_WRONG))]);
    dry(&hf_tiny, &[], &[("MODELSCOPE_API_TOKEN", None)]);
    dry(&ms_msm, &[], &[("HF_TOKEN", None)]);
    // Each: its exit code, a message naming what is wrong, and a hint.
    our_snapshot!(ctx, "bad_input_refusals", refusals);

    // The seed's variable name works too.
    let ok = ctx.run_with_env(
        &["migrate", &hf_tiny, "--dry-run"],
        &[
            ("MODELSCOPE_API_TOKEN", None),
            ("MODELSCOPE_TOKEN", Some(MS_ALICE)),
        ],
    );
    assert_eq!(ok.code, Some(0), "{ok}");
    // A .env file in the working directory fills in what the environment leaves unset, and
    // never overrides what it sets.
    let dotenv = ctx.path("home/.env");
    std::fs::write(
        &dotenv,
        format!("MODELSCOPE_API_TOKEN={MS_ALICE}\nHF_TOKEN={HF_WRONG}\n"),
    )
    .unwrap();
    let ok = ctx.run_with_env(
        &["migrate", &hf_tiny, "--dry-run"],
        &[("MODELSCOPE_API_TOKEN", None)],
    );
    std::fs::remove_file(&dotenv).unwrap();
    assert_eq!(ok.code, Some(0), "{ok}");
    ctx.assert_no_canaries();
}

#[test]
fn a_dotenv_that_does_not_parse_is_a_usage_error_naming_the_line_not_the_token() {
    let ctx = TestContext::new();
    let dotenv = ctx.path("home/.env");
    // A value with a space and no quotes: dotenv parsers stop at it. Dropping the line would
    // leave the user's token silently unset.
    std::fs::write(&dotenv, format!("HF_TOKEN={MS_WRONG} x\n")).unwrap();
    let out = ctx.run(&["migrate", "hf:alice/anything", "--dry-run"]);
    std::fs::remove_file(&dotenv).unwrap();
    assert_eq!(out.code, Some(2), "{out}");
    let expected = format!("{}: line 1 (HF_TOKEN) does not parse", dotenv.display());
    assert!(out.stderr.contains(&expected), "{out}");
    assert!(
        out.stderr.contains("hint: write each line as NAME=value"),
        "{out}"
    );
    ctx.assert_no_canaries();
}

/// The sandbox faults whose `path` names `repo` that have not fired their count yet.
fn faults_left(ctx: &TestContext, repo: &str) -> Vec<Value> {
    let faults = ctx.admin("GET", "/faults", None);
    faults["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.contains(repo)))
        .cloned()
        .collect()
}

#[test]
fn hub_faults_are_retried_or_reported_with_the_step() {
    let ctx = TestContext::new();
    let (tiny, msm) = (unique("pf-fault-tiny"), unique("pf-fault-msm"));
    ctx.seed_spec(&json!([
        {"platform": "hf", "id": format!("alice/{tiny}"), "files": {"a.txt": "a", "b.txt": "b"}},
        {"platform": "ms", "id": format!("alice/{msm}"), "files": {"a.txt": "a"}},
    ]));
    // Rate limits and a transient 5xx on the listings are retried (honouring Retry-After). The
    // sandbox is shared: each fault names this test's repo in its path.
    ctx.admin(
        "POST",
        "/faults",
        Some(&json!({"faults": [
            {"kind": "rate_limit", "count": 2, "retry_after": 1, "platform": "hf", "path": format!("/{tiny}/tree/")},
            {"kind": "server_error", "count": 1, "status": 502, "platform": "ms", "path": format!("/{msm}/repo/files")},
        ]})),
    );
    let hf_tiny = format!("hf:alice/{tiny}");
    let plan = ctx
        .run(&["migrate", &hf_tiny, "--dry-run", "--json"])
        .plan();
    assert_eq!(plan["files_to_move"], 2, ".gitattributes is the hub's own");
    let plan = ctx
        .run(&["migrate", &format!("ms:alice/{msm}"), "--dry-run", "--json"])
        .plan();
    assert_eq!(plan["source_files"]["files"], 2);
    assert_eq!(
        faults_left(&ctx, &tiny),
        Vec::<Value>::new(),
        "every fault fired"
    );
    assert_eq!(
        faults_left(&ctx, &msm),
        Vec::<Value>::new(),
        "every fault fired"
    );

    // A hub that keeps failing: exit 1, naming the repo, the step and the hub's answer.
    let added = ctx.admin(
        "POST",
        "/faults",
        Some(&json!({"kind": "server_error", "count": null, "status": 503, "platform": "hf", "path": format!("/{tiny}/tree/")})),
    );
    let out = ctx.run(&["migrate", &hf_tiny, "--dry-run"]);
    our_snapshot!(ctx, out, @"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    error: listing the source files for hf:alice/pf-fault-tiny-[N]@main failed: Hugging Face GET /api/models/alice/pf-fault-tiny-[N]/tree/[SHA]?recursive=true&expand=false answered 503: [InternalError] Internal Error - injected by the hub sandbox.

    hint: try again later; if it persists, the hub may be having trouble
    ");
    let id = added["added"][0]["id"].as_u64().unwrap();
    ctx.admin("DELETE", &format!("/faults/{id}"), None);
    assert_eq!(ctx.run(&["migrate", &hf_tiny, "--dry-run"]).code, Some(0));
}

#[test]
fn large_listings_are_paged_and_relisted() {
    // HF pages of 100 entries (a setting of the whole sandbox, so a world of its own); a
    // ModelScope model past the 3000-entry cap of `repo/files` (re-listed per directory); a
    // ModelScope dataset over many `repo/tree` pages.
    let ctx = TestContext::with_private_world(&["--page-size", "100"]);
    ctx.seed_spec(&json!([
        {"platform": "hf", "id": "alice/hfmany", "many": 450},
        {"platform": "ms", "id": "alice/msmany", "many": 3100},
        {"platform": "ms", "id": "alice/msdata", "type": "dataset", "many": 450},
    ]));
    let plan = ctx
        .run(&["migrate", "hf:alice/hfmany", "--dry-run", "--json"])
        .plan();
    assert_eq!(
        plan["source_files"]["files"], 451,
        "450 files and .gitattributes"
    );
    assert_eq!(plan["files_to_move"], 450);
    let plan = ctx
        .run(&["migrate", "ms:alice/msmany", "--dry-run", "--json"])
        .plan();
    assert_eq!(plan["source_files"]["files"], 3101);
    let mut moved = paths(&plan["to_move"]);
    moved.dedup();
    assert_eq!(moved.len(), 3100, "every file once");
    let plan = ctx
        .run(&["migrate", "ms:alice/msdata", "--dry-run", "--json"])
        .plan();
    assert_eq!(plan["source"]["repo_type"], "dataset");
    assert_eq!(plan["source_files"]["files"], 451);
}
