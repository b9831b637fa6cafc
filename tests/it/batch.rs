//! `hubferry batch`: bounded concurrency, a summary, exit 4 when some repositories failed.

use crate::our_snapshot;
use crate::support::{unique, TestContext};

#[test]
fn batch_with_one_failing_repo_exits_4_and_summarizes() {
    let ctx = TestContext::new();
    let good = unique("it-batch-ok");
    ctx.seed("hf", &format!("alice/{good}"), &["--lfs-mb", "0.5"]);
    let missing = unique("it-batch-missing");
    let list = ctx.path("repos.txt");
    std::fs::write(
        &list,
        format!("# source  [dest]\nhf:alice/{good} alice/{good}-copy\n\nhf:alice/{missing}\n"),
    )
    .unwrap();

    let out = ctx.run(&[
        "batch",
        "--from-file",
        list.to_str().unwrap(),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(4), "{out}");
    let summary = out.last_json();
    assert_eq!(summary["type"], "batch_report", "{out}");
    assert_eq!(
        (
            summary["repos_ok"].as_u64(),
            summary["repos_failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let repos = summary["repos"].as_array().unwrap();
    assert_eq!(repos[0]["status"], "ok");
    assert_eq!(
        repos[0]["dest"],
        format!("ms:model:alice/{good}-copy@master")
    );
    assert_eq!(repos[1]["status"], "error");
    assert!(
        repos[1]["dest"].is_null(),
        "no destination was known: {out}"
    );
    assert!(
        repos[1]["error"].as_str().unwrap().contains(&missing),
        "{out}"
    );
    let reports = out.of_type("report");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["verified"], true);

    // Human summary; --skip-existing leaves the copy made above alone this time.
    let again = ctx.path("again.txt");
    std::fs::write(&again, format!("hf:alice/{good} alice/{good}-copy\n")).unwrap();
    let out = ctx.run(&[
        "batch",
        "--from-file",
        again.to_str().unwrap(),
        "--skip-existing",
        "--backend",
        "local",
    ]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----

    SOURCE → DEST                                                                    STATUS       FILES      BYTES     TIME
    hf:model:alice/it-batch-ok-[N]@main → ms:model:alice/it-batch-ok-[N]-copy@master skipped          0        0 B [DURATION]
    1/1 done (1 skipped), 0 failed
    ----- stderr -----
    batch: 1 repositories, 2 at a time
    ms:model:alice/it-batch-ok-[N]-copy@master: destination exists, skipped (--skip-existing)
    ");
    ctx.assert_no_canaries();
}

#[test]
fn batch_deletes_at_a_destination_only_with_yes() {
    let ctx = TestContext::new();
    let src = unique("it-batch-del");
    ctx.seed_spec(&serde_json::json!([
        {"platform": "hf", "id": format!("alice/{src}"), "files": {"keep.txt": "k"}},
        {"platform": "ms", "id": format!("alice/{src}"), "files": {"keep.txt": "k", "stale.txt": "s"}},
    ]));
    let list = ctx.path("del.txt");
    std::fs::write(&list, format!("hf:alice/{src}\n")).unwrap();
    let args = [
        "batch",
        "--from-file",
        list.to_str().unwrap(),
        "--backend",
        "local",
        "--delete",
        "--json",
    ];
    let out = ctx.run(&args);
    assert_eq!(out.code, Some(2), "{out}");
    let row = &out.last_json()["repos"][0];
    let error = row["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("refusing to delete 1 file(s) at ms:")
            && error.contains("without confirmation"),
        "{out}"
    );
    let dry = ctx.run(&[
        "migrate",
        &format!("hf:alice/{src}"),
        "--delete",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(dry.code, Some(0), "{dry}");
    assert_eq!(
        dry.last_json()["to_delete"][0]["path"],
        "stale.txt",
        "the refused batch left the destination as it was: {dry}"
    );

    let mut confirmed = args.to_vec();
    confirmed.push("--yes");
    let out = ctx.run(&confirmed);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.of_type("report")[0]["files_deleted"], 1, "{out}");
    ctx.assert_no_canaries();
}
