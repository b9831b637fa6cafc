//! The Rust hub clients under the sandbox's injected faults, through the binary (a `--dry-run`
//! preflight reads both hubs): `Retry-After` honoured in both forms, ModelScope's `E1021` given its
//! longer budget, a 5xx burst ridden out, and a wait beyond the ceiling failing at once, saying so.

use serde_json::{json, Value};

use crate::support::{admin_json, unique, TestContext};

/// The sandbox's log of requests whose path contains `needle`, oldest first.
fn logged(ctx: &TestContext, platform: &str, needle: &str) -> Vec<Value> {
    let log = admin_json(
        &ctx.world.admin,
        "GET",
        &format!("/requests?platform={platform}"),
        None,
    );
    log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(needle)))
        .cloned()
        .collect()
}

fn statuses(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["status"].as_u64().unwrap_or(0))
        .collect()
}

/// Seconds between the first two requests of `entries`.
fn first_gap(entries: &[Value]) -> f64 {
    entries[1]["t_received"].as_f64().unwrap() - entries[0]["t_received"].as_f64().unwrap()
}

#[test]
fn retry_after_in_both_forms_and_5xx_bursts_are_ridden_out() {
    let ctx = TestContext::new();
    for (form, fault) in [
        (
            "seconds",
            json!({"kind": "rate_limit", "count": 2, "retry_after": 1}),
        ),
        (
            "date",
            json!({"kind": "rate_limit", "count": 2, "retry_after": 1, "retry_after_form": "date"}),
        ),
        (
            "5xx",
            json!({"kind": "server_error", "count": 2, "status": 503}),
        ),
    ] {
        let id = format!("alice/{}", unique(&format!("it-retry-{form}")));
        ctx.seed("hf", &id, &["--lfs-mb", "0.01"]);
        let needle = format!("{id}/tree");
        let mut fault = fault;
        fault["platform"] = "hf".into();
        fault["path"] = needle.clone().into();
        ctx.fault(fault);
        let out = ctx.run(&["migrate", &format!("hf:{id}"), "--dry-run", "--json"]);
        assert_eq!(out.code, Some(0), "{form}: {out}");
        let entries = logged(&ctx, "hf", &needle);
        let code = if form == "5xx" { 503 } else { 429 };
        assert_eq!(statuses(&entries), [code, code, 200], "{form}: {entries:?}");
        if form != "5xx" {
            // Backoff alone would have come back within 0.2 s; the hub's 1 s (or the date a
            // whole second or two ahead) was waited.
            assert!(first_gap(&entries) >= 0.95, "{form}: {entries:?}");
        }
    }
}

#[test]
fn modelscope_e1021_gets_more_attempts_than_a_plain_429() {
    let ctx = TestContext::new();
    // Each fault is removed by its id at the end: the world is shared with tests running at the
    // same time, whose faults a `DELETE /faults` would wipe as well.
    let throttle = |id: &str, message: &str| -> u64 {
        let spec = json!({"kind": "rate_limit", "count": 4, "retry_after": 0, "platform": "ms",
            "path": format!("{id}/repo/files"), "message": message});
        let added = admin_json(&ctx.world.admin, "POST", "/faults", Some(&spec));
        added["added"][0]["id"].as_u64().unwrap()
    };
    let e1021 = format!("alice/{}", unique("it-e1021"));
    ctx.seed("ms", &e1021, &["--lfs-mb", "0.01"]);
    let e1021_fault = throttle(
        &e1021,
        "E1021 Commit frequency limit exceeded, please retry later",
    );
    let out = ctx.run(&["migrate", &format!("ms:{e1021}"), "--dry-run", "--json"]);
    assert_eq!(out.code, Some(0), "E1021 four times, then through: {out}");
    let entries = logged(&ctx, "ms", &format!("{e1021}/repo/files"));
    assert_eq!(
        statuses(&entries)[..5],
        [429, 429, 429, 429, 200],
        "{entries:?}"
    );
    assert!(
        first_gap(&entries) >= 0.95,
        "E1021's floor was waited: {entries:?}"
    );

    let plain = format!("alice/{}", unique("it-429"));
    ctx.seed("ms", &plain, &["--lfs-mb", "0.01"]);
    let plain_fault = throttle(&plain, "You have been rate-limited; retry later.");
    let out = ctx.run(&["migrate", &format!("ms:{plain}"), "--dry-run", "--json"]);
    assert_ne!(
        out.code,
        Some(0),
        "a plain 429 four times is past the budget: {out}"
    );
    for fault in [e1021_fault, plain_fault] {
        admin_json(
            &ctx.world.admin,
            "DELETE",
            &format!("/faults/{fault}"),
            None,
        );
    }
}

#[test]
fn a_wait_beyond_the_ceiling_fails_at_once_naming_it() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-ceiling"));
    ctx.seed("hf", &id, &["--lfs-mb", "0.01"]);
    ctx.fault(
        json!({"kind": "rate_limit", "count": 1, "retry_after": 3600, "platform": "hf",
        "path": format!("{id}/tree")}),
    );
    let out = ctx.run(&["migrate", &format!("hf:{id}"), "--dry-run"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("wait 3600 s") && out.stderr.contains("(10 s)"),
        "{out}"
    );
}
