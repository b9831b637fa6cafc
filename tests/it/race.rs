//! Private files published through a race: preflight plans a new private copy, then someone
//! creates the destination public before the worker reaches it. The worker refuses (nothing
//! uploaded) and hubferry reports it as a failure with its own exit code and hint.

use std::time::Duration;

use serde_json::{json, Value};

use crate::selection::helper;
use crate::support::{admin_json, unique, wait_bounded, wait_until_running, TestContext};

#[test]
fn a_destination_made_public_after_preflight_gets_no_private_file() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-race"));
    ctx.seed("ms", &id, &["--private", "--lfs-mb", "0.01"]);
    // Every request naming the HF destination waits 3 s: preflight's look at it, and the
    // worker's. Creating a repo names it only in the body, so the test's creation, made the
    // moment the plan is out, lands while the worker's look is still held.
    let added = admin_json(
        &ctx.world.admin,
        "POST",
        "/faults",
        Some(&json!({"kind": "latency", "ms": 3000, "platform": "hf",
            "path": format!("/api/models/{id}")})),
    );
    let fault = added["added"][0]["id"].as_u64().unwrap();
    let mut cmd = ctx.command(&["migrate", &format!("ms:{id}"), "--backend", "local"]);
    let (out_path, err_path) = (ctx.path("race.out"), ctx.path("race.err"));
    cmd.stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    // The plan line (stderr) is printed once preflight is done, before any worker starts.
    wait_until_running(&mut child, "the plan of a new private copy", || {
        std::fs::read_to_string(&err_path)
            .unwrap_or_default()
            .contains("(new, private)")
    });
    helper(&ctx, &["create-public", "hf", &id], &Value::Null);
    let code = wait_bounded(&mut child, Duration::from_secs(120));
    crate::support::admin_request(
        &ctx.world.admin,
        "DELETE",
        &format!("/faults/{fault}"),
        None,
    );
    let (stdout, stderr) = (
        std::fs::read_to_string(&out_path).unwrap(),
        std::fs::read_to_string(&err_path).unwrap(),
    );
    let all = format!("{stdout}\n{stderr}");
    assert_eq!(code, Some(2), "refused like preflight refuses it: {all}");
    for line in [
        "refused (the destination is public; nothing was uploaded)",
        "moved:     0 files",
        "verified:  not applicable (nothing was uploaded)",
        "[dest-exists-public]",
        "hint: make the Hugging Face repo private",
    ] {
        assert!(all.contains(line), "the report says `{line}`: {all}");
    }
    assert!(!all.contains("6 missing"), "no verification noise: {all}");
    let listed: Vec<Option<Vec<String>>> =
        serde_json::from_str(&helper(&ctx, &["list", "hf", &id], &Value::Null)).unwrap();
    let files = listed[0].clone().unwrap_or_default();
    assert!(
        files.iter().all(|p| p == ".gitattributes"),
        "nothing uploaded into the public repo: {files:?}"
    );
    // A second try sees the public destination in preflight and refuses up front, also exit 2.
    let out = ctx.run(&[
        "migrate",
        &format!("ms:{id}"),
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(2), "{out}");
    ctx.assert_no_canaries();
}
