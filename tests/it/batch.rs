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

    // Human summary; --skip-existing leaves the copy alone this time.
    let out = ctx.run(&[
        "batch",
        &format!("hf:alice/{good}"),
        "--dest-namespace",
        "alice",
        "--skip-existing",
        "--backend",
        "local",
    ]);
    our_snapshot!(ctx, out, @"
    exit: 0
    ----- stdout -----
    done, verified hf:model:alice/it-batch-ok-[N]@main → ms:model:alice/it-batch-ok-[N]@master
      url:       [MS_ENDPOINT]/models/alice/it-batch-ok-[N]
      moved:     6 files, 524.6 kB
      skipped:   0 files, 0 B (already at the destination)
      time:      [DURATION] ([RATE], local backend)
      verified:  6 files match the source (re-listed by hubferry)

    SOURCE → DEST                                                               STATUS       FILES      BYTES     TIME
    hf:model:alice/it-batch-ok-[N]@main → ms:model:alice/it-batch-ok-[N]@master ok               6   524.6 kB [DURATION]
    1/1 done (0 skipped), 0 failed
    ----- stderr -----
    batch: 1 repositories, 2 at a time
    hf:model:alice/it-batch-ok-[N]@main → ms:model:alice/it-batch-ok-[N]@master: starting
    started: hf:alice/it-batch-ok-[N] → ms:alice/it-batch-ok-[N] (6 files, 524.6 kB)
      moved    README.md (48 B)
      moved    config.json (19 B)
      moved    empty.txt (0 B)
      moved    nested/deeper/notes.txt (120 B)
      moved    weights/model.safetensors (524.3 kB)
      moved    数据/训练 集.jsonl (95 B)
    finished: ok (6 files moved, 524.6 kB, 0 skipped, [DURATION])
    verifying ms:model:alice/it-batch-ok-[N]@master (listing it again)…
    ");
    ctx.assert_no_canaries();
}
