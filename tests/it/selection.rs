//! One file selection: for a table of `--include`/`--exclude` patterns, the plan's list, the files
//! that actually arrive, and huggingface_hub's own `filter_repo_objects` on the same listing
//! (tests/it/selection.py) agree — both directions, both backends, with and without chunks.

use std::io::Write;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{unique, TestContext};

const FILES: &[&str] = &[
    "README.md",
    "a.json",
    "b.txt",
    "c.bin",
    "sub/c.json",
    "sub/d.bin",
    "sub/deep/e.bin",
    "model.safetensors",
    "sub/model-00001-of-00002.safetensors",
    "dir with space/f g.txt",
    "数据/训练 集.jsonl",
    "é/ü.json",
];

/// (include, exclude).
const CASES: &[(&[&str], &[&str])] = &[
    (&["*.{json,txt}"], &[]),
    (&["sub/*"], &[]),
    (&["**/*.bin"], &[]),
    (&["[ab]*"], &[]),
    (&["*.safetensors"], &[]),
    (&["*"], &["sub/*", "*.txt"]),
    (&["*.json", "*.bin"], &["sub/deep/*", "[!s]*.bin"]),
    (&["dir with space/*", "数据/*", "é/"], &[]),
    (&[], &["*.safetensors", "*.{md,jsonl}"]),
];

/// Runs tests/it/selection.py through the official clients; returns its stdout.
pub fn helper(ctx: &TestContext, args: &[&str], stdin: &Value) -> String {
    let mut child = ctx
        .client_script("tests/it/selection.py")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running selection.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "selection.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn paths(value: &Value) -> Vec<String> {
    let mut v: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|f| f.get("path").unwrap_or(f).as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn pattern_args(include: &[&str], exclude: &[&str]) -> Vec<String> {
    let mut args = Vec::new();
    for p in include {
        args.extend(["--include".to_owned(), (*p).to_owned()]);
    }
    for p in exclude {
        args.extend(["--exclude".to_owned(), (*p).to_owned()]);
    }
    args
}

#[test]
fn plan_moves_and_filter_repo_objects_agree_on_every_pattern() {
    let ctx = TestContext::new();
    let name = unique("it-sel");
    let src_id = format!("alice/{name}");
    for platform in ["hf", "ms"] {
        helper(&ctx, &["seed", platform, &src_id], &json!(FILES));
    }
    let specs: Vec<Value> = CASES
        .iter()
        .map(|(include, exclude)| json!({"include": include, "exclude": exclude}))
        .collect();
    let expected: Vec<Vec<Vec<String>>> = ["hf", "ms"]
        .iter()
        .map(|p| {
            serde_json::from_str(&helper(&ctx, &["expect", p, &src_id], &json!(specs))).unwrap()
        })
        .collect();
    let mut combos_seen = std::collections::BTreeSet::new();
    let mut moved = Vec::new();
    for (i, (include, exclude)) in CASES.iter().enumerate() {
        let patterns = pattern_args(include, exclude);
        // Every case is planned both ways; it runs one way, the cases rotating through
        // direction × backend × chunking so each combination moves files at least once.
        let (from, to) = if i % 2 == 0 {
            ("hf", "ms")
        } else {
            ("ms", "hf")
        };
        let backend = if (i / 2) % 2 == 0 { "local" } else { "modal" };
        let chunked = (i / 4) % 2 == 1;
        combos_seen.insert((from, backend, chunked));
        for (k, (plan_from, plan_to)) in [("hf", "ms"), ("ms", "hf")].into_iter().enumerate() {
            let want = expected[k][i].clone();
            assert!(!want.is_empty(), "case {i} selects something");
            let dest = format!("alice/{name}-{i}-{plan_from}");
            let mut args = vec![
                "migrate".to_owned(),
                format!("{plan_from}:{src_id}"),
                "--to".into(),
                plan_to.into(),
                "--dest".into(),
                dest.clone(),
                "--backend".into(),
                backend.into(),
                "--json".into(),
            ];
            args.extend(patterns.iter().cloned());
            if chunked {
                args.extend(["--parallel".into(), "--chunk-size".into(), "1e-9".into()]);
            }
            let mut dry = args.clone();
            dry.push("--dry-run".into());
            let dry_refs: Vec<&str> = dry.iter().map(String::as_str).collect();
            let out = ctx.run(&dry_refs);
            assert_eq!(out.code, Some(0), "{out}");
            let plan = out.of_type("plan").pop().expect("a plan object");
            let planned = paths(&plan["to_move"]);
            assert_eq!(
                planned, want,
                "case {i} {include:?}/{exclude:?} {plan_from}→{plan_to}: plan vs filter_repo_objects"
            );
            if plan_from != from {
                continue;
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = ctx.run(&refs);
            assert_eq!(
                out.code,
                Some(0),
                "case {i} ({backend}, chunked {chunked}): {out}"
            );
            let report = out.ok_report();
            assert_eq!(report["files_moved"], want.len(), "case {i}: {report}");
            if chunked {
                assert!(report["chunks"].as_u64().unwrap() > 1, "case {i}: {report}");
            }
            moved.push((
                i,
                to,
                dest,
                want,
                format!("{from}→{to} ({backend}, chunked {chunked})"),
            ));
        }
    }
    for to in ["hf", "ms"] {
        let runs: Vec<_> = moved.iter().filter(|m| m.1 == to).collect();
        let mut args = vec!["list", to];
        args.extend(runs.iter().map(|m| m.2.as_str()));
        let listings: Vec<Option<Vec<String>>> =
            serde_json::from_str(&helper(&ctx, &args, &json!(null))).unwrap();
        for ((i, _, _, want, how), arrived) in runs.into_iter().zip(listings) {
            let mut arrived = arrived.expect("the destination exists");
            arrived.retain(|p| p != ".gitattributes");
            assert_eq!(
                &arrived, want,
                "case {i} {:?} {how}: moved vs filter_repo_objects",
                CASES[*i]
            );
        }
    }
    assert_eq!(combos_seen.len(), 8, "{combos_seen:?}");
    ctx.assert_no_canaries();
}

#[test]
fn malformed_patterns_are_usage_errors_naming_them() {
    let ctx = TestContext::new();
    for bad in ["[abc", "*.{json,txt", "a}b"] {
        let out = ctx.run(&[
            "migrate",
            "hf:alice/whatever",
            "--include",
            bad,
            "--dry-run",
        ]);
        assert_eq!(out.code, Some(2), "{out}");
        assert!(out.stderr.contains(&format!("`{bad}`")), "{out}");
        assert!(out.stderr.contains("hint:"), "{out}");
    }
    let out = ctx.run(&[
        "migrate",
        "hf:alice/whatever",
        "--exclude",
        "[",
        "--dry-run",
    ]);
    assert_eq!(out.code, Some(2), "{out}");
}

#[test]
fn concurrency_0_is_a_usage_error_with_a_hint() {
    let ctx = TestContext::new();
    let out = ctx.run(&["migrate", "hf:alice/whatever", "--concurrency", "0"]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("hint:") && out.stderr.contains("--concurrency 1"),
        "{out}"
    );
}
