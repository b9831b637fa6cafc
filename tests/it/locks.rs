//! Two syncs of one mirror at once: the second waits for the first (naming its pid), then plans
//! afresh and finds the mirror current; together they move the source's bytes once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{unique, wait_bounded, wait_until_running, TestContext};

/// The last `--json` line a run wrote to `path`, each line validated against its schema.
fn last_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .inspect(|v| {
            crate::support::schemas::check(v);
        })
        .collect();
    lines
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("no JSON line in {}: {text}", path.display()))
}

#[test]
fn two_concurrent_syncs_of_one_mirror_move_each_byte_once() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-lock"));
    let seeded = ctx.seed("hf", &id, &["--lfs-mb", "1"]);
    ctx.seed("ms", &id, &["--lfs-mb", "0.01", "--seed", "2"]);
    crate::mirrors::edit(&ctx, "ms", &id, &["stale.txt=old"], &[]);
    let config = ctx.path("mirrors.toml");
    std::fs::write(
        &config,
        format!("[[mirror]]\nname = \"m\"\nsource = \"hf:{id}\"\ndest = \"ms:{id}\"\nbackend = \"local\"\ndelete = true\n"),
    )
    .unwrap();
    let config = config.display().to_string();
    let spawn = |tag: &str| {
        let (out, err) = (
            ctx.path(&format!("{tag}.out")),
            ctx.path(&format!("{tag}.err")),
        );
        let mut cmd = ctx.command(&["sync", "--config", &config, "--json"]);
        cmd.stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .stdin(Stdio::null());
        (cmd.spawn().expect("spawning hubferry"), out, err)
    };
    let locks = ctx.path("state").join("locks");
    let held = || {
        std::fs::read_dir(&locks)
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "lock"))
            })
            .unwrap_or(false)
    };
    let (mut first, first_out, _) = spawn("first");
    wait_until_running(
        &mut first,
        "the first sync holds the destination lock",
        held,
    );
    let (mut second, second_out, second_err) = spawn("second");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&second_err)
        .unwrap_or_default()
        .contains("waiting for ms:")
    {
        assert!(
            Instant::now() < deadline,
            "the second sync never said it waits"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let waited = std::fs::read_to_string(&second_err).unwrap();
    assert!(
        waited.contains(&format!("pid {}", first.id())),
        "names the holder: {waited}"
    );
    assert_eq!(wait_bounded(&mut first, Duration::from_secs(120)), Some(0));
    assert_eq!(wait_bounded(&mut second, Duration::from_secs(120)), Some(0));
    let (a, b) = (last_json(&first_out), last_json(&second_out));
    let first_seen = a["bytes_moved"].as_u64().unwrap() + a["bytes_skipped"].as_u64().unwrap();
    assert_eq!(Some(first_seen), seeded["bytes"].as_u64(), "first: {a}");
    assert!(a["bytes_moved"].as_u64() > Some(0), "first: {a}");
    assert_eq!(a["files_deleted"], 1, "first: {a}");
    assert_eq!(
        (b["bytes_moved"].as_u64(), b["status"].as_str()),
        (Some(0), Some("ok")),
        "the second finds the mirror current: {b}"
    );
    assert!(!held(), "both locks released");
    ctx.assert_no_canaries();
}
