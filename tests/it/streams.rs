//! The streams per container: chosen by the plan from its files and the hubs' per-connection
//! rates (docs/job-file.md, "Streams"), shown in the plan and carried in every job file.

use serde_json::Value;

use crate::support::{unique, TestContext};

/// The job files a run rendered (captured by the test's recording shims).
fn captured_jobs(ctx: &TestContext) -> Vec<Value> {
    ctx.captured_files()
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("jobs")))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn the_plan_chooses_the_streams_and_every_job_carries_them() {
    let ctx = TestContext::new();
    let repo = format!("alice/{}", unique("it-streams"));
    // 6 sample files + 10 shards, all small: ModelScope uploads get one stream per file (its
    // per-connection rate is far below a container's link), Hugging Face downloads the floor for
    // small files.
    ctx.seed("hf", &repo, &["--extra-files", "10", "--lfs-mb", "0.2"]);
    let dry = ctx.run(&["migrate", &format!("hf:{repo}"), "--dry-run", "--json"]);
    assert_eq!(dry.code, Some(0), "{dry}");
    let plan = &dry.json_lines()[0];
    let files = plan["files_to_move"].as_u64().unwrap();
    assert_eq!(files, 16, "{plan}");
    assert_eq!(
        plan["streams"],
        serde_json::json!({"downloads": 8, "uploads": 16})
    );
    let text = ctx.run(&["migrate", &format!("hf:{repo}"), "--dry-run"]);
    assert!(
        text.stdout
            .contains("\n  streams per container: 8 downloads, 16 uploads\n"),
        "{text}"
    );

    let out = ctx.run(&[
        "migrate",
        &format!("hf:{repo}"),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let jobs = captured_jobs(&ctx);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let options = &jobs[0]["options"];
    assert_eq!(
        (&options["download_workers"], &options["upload_workers"]),
        (&Value::from(8), &Value::from(16)),
        "{options}"
    );
    ctx.assert_no_canaries();
}
