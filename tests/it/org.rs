//! `hubferry plan` / `apply`: an organisation planned as JSON lines, reviewed, applied, applied
//! again with nothing to do; a line whose source moved is refused while the others go on; the
//! README front matter mapped for ModelScope, shown in the plan and written at the destination.

use serde_json::{json, Value};

use crate::mirrors::edit;
use crate::our_snapshot;
use crate::support::{unique, Output, TestContext};
use hubferry::printer::human_bytes;

const MS_ORGS: (&str, Option<&str>) = ("HUBFERRY_MS_ORGS", Some("acme-ms"));

fn lines_by_name(out: &Output, prefix: &str) -> Vec<(String, Value)> {
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}"));
            let source = v["source"].as_str().unwrap().to_owned();
            let name = source.rsplit('/').next().unwrap().to_owned();
            (name.trim_start_matches(prefix).to_owned(), v)
        })
        .collect()
}

fn repo_by_dest<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"].as_str().unwrap_or("").contains(name))
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

#[test]
fn an_org_is_planned_applied_and_applied_again_with_nothing_to_do() {
    let ctx = TestContext::new();
    let p = unique("org");
    let files = |extra: &str| {
        json!({
            "README.md": "---\nlicense: apache-2.0\n---\n# sample\n",
            "config.json": "{\"hidden_size\": 64}",
            "notes.txt": format!("notes {extra}\n"),
        })
    };
    let card_readme =
        "---\nlicense: apache-2.0\npipeline_tag: text-generation\n---\n# a model card\n";
    ctx.seed_spec(&json!([
        {"platform": "hf", "id": format!("acme/{p}-pub"),
         "files": {"README.md": card_readme, "weights.bin": "w".repeat(3000)}},
        {"platform": "hf", "id": format!("acme/{p}-priv"), "private": true, "files": files("priv")},
        {"platform": "hf", "id": format!("acme/{p}-gated"), "files": files("gated")},
        {"platform": "hf", "id": format!("acme/{p}-space"), "type": "space",
         "files": {"app.py": "print('hi')\n"}},
        {"platform": "hf", "id": format!("acme/{p}-mirrored"), "files": files("m")},
        {"platform": "ms", "id": format!("acme-ms/{p}-mirrored"), "files": files("m")},
        {"platform": "hf", "id": format!("acme/{p}-taken"), "files": files("t")},
        {"platform": "ms", "id": format!("acme-ms/{p}-taken"),
         "files": {"other.txt": "someone else's repository\n"}},
    ]));
    ctx.admin(
        "POST",
        "/repos/settings",
        Some(&json!({"platform": "hf", "id": format!("acme/{p}-gated"),
                     "gated": "auto", "gated_users": ["alice"]})),
    );

    // Redirected stdout: the JSON lines; the review table on stderr.
    let glob = format!("{p}-*");
    let plan_args = ["plan", "hf:acme", "--to", "ms:acme-ms", "--match", &glob];
    let out = ctx.run_with_env(&plan_args, &[MS_ORGS]);
    assert_eq!(out.code, Some(0), "{out}");
    let plan_file = ctx.path("plan.jsonl");
    std::fs::write(&plan_file, &out.stdout).unwrap();
    let lines = lines_by_name(&out, &format!("{p}-"));
    let action = |name: &str| -> &Value {
        &lines
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no line for {name}\n{out}"))
            .1
    };
    assert_eq!(lines.len(), 6, "{out}");
    for (name, want) in [
        ("pub", "create"),
        ("priv", "create"),
        ("gated", "create"),
        ("space", "skip-space"),
        ("mirrored", "up-to-date"),
        ("taken", "conflict"),
    ] {
        assert_eq!(action(name)["action"], want, "{name}: {out}");
        assert_eq!(action(name)["hubferry_plan"], 1);
    }
    // Gated and private sources become private copies: preflight's one visibility rule.
    assert_eq!(
        (
            action("gated")["source_visibility"].as_str(),
            action("gated")["dest_visibility"].as_str()
        ),
        (Some("gated"), Some("private"))
    );
    assert_eq!(action("priv")["dest_visibility"], "private");
    assert_eq!(action("pub")["dest_visibility"], "public");
    assert!(action("pub")["source_sha"]
        .as_str()
        .is_some_and(|s| s.len() == 40));
    // The cost is migrate's estimate of the same copy: one cost model.
    let cost = action("pub")["cost_usd"].as_f64().unwrap();
    assert!(cost > 0.0, "{out}");
    assert_eq!(action("mirrored")["cost_usd"], 0.0, "{out}");
    let dry = ctx.run_with_env(
        &[
            "migrate",
            &format!("hf:acme/{p}-pub"),
            "--to",
            "ms",
            "--dest",
            &format!("acme-ms/{p}-pub"),
            "--dry-run",
            "--json",
        ],
        &[MS_ORGS],
    );
    assert_eq!(dry.code, Some(0), "{dry}");
    assert_eq!(
        dry.last_json()["estimate"]["cost_usd"].as_f64(),
        Some(cost),
        "{dry}"
    );
    assert_eq!(
        action("pub")["card"],
        json!([{"field": "tasks", "before": null, "after": "[text-generation]"}])
    );
    assert!(
        action("taken")["reason"]
            .as_str()
            .unwrap()
            .contains("shares no file"),
        "{out}"
    );
    our_snapshot!(ctx, Output { stdout: String::new(), ..out }, @"
    exit: 0
    ----- stdout -----
    ----- stderr -----
    planning hf:acme → ms:acme-ms…
    ACTION     SOURCE                       DEST                        VISIBILITY          FILES      BYTES      ETA
    create     hf:acme/org-[N]-gated        ms:acme-ms/org-[N]-gated    gated → private         3       68 B [DURATION]
    up-to-date hf:acme/org-[N]-mirrored     ms:acme-ms/org-[N]-mirrored public → public         -          -        -
    create     hf:acme/org-[N]-priv         ms:acme-ms/org-[N]-priv     private → private       3       67 B [DURATION]
    create     hf:acme/org-[N]-pub          ms:acme-ms/org-[N]-pub      public → public         2     3.1 kB [DURATION]
        card README.md:
          + tasks: [text-generation]
    conflict   hf:acme/org-[N]-taken        ms:acme-ms/org-[N]-taken    public → public         -          -        -
        ms:acme-ms/org-[N]-taken exists and shares no file with hf:acme/org-[N]-taken: the name is taken by another repository (hint: delete or rename it, or plan with another --dest-namespace)
    skip-space hf:spaces/acme/org-[N]-space -                           public → -              -          -        -
        ModelScope has no spaces; migrate the models and datasets it uses
    6 repositories: 3 create, 0 update, 1 up-to-date, 1 conflict, 1 skip-space; 3.2 kB to move
    ");

    // migrate --dry-run shows the same card diff before anything moves.
    let dry = ctx.run_with_env(
        &[
            "migrate",
            &format!("hf:acme/{p}-pub"),
            "--dest",
            &format!("acme-ms/{p}-dry"),
            "--dry-run",
        ],
        &[MS_ORGS],
    );
    assert_eq!(dry.code, Some(0), "{dry}");
    assert!(
        dry.stdout
            .contains("card README.md for ModelScope (the source stays as it is):\n    + tasks: [text-generation]"),
        "{dry}"
    );

    let plan_path = plan_file.to_str().unwrap();
    let apply = [
        "apply",
        plan_path,
        "--backend",
        "local",
        "--jobs",
        "2",
        "--json",
    ];
    let out = ctx.run_with_env(&apply, &[MS_ORGS]);
    assert_eq!(out.code, Some(0), "{out}");
    let report = out.last_json();
    assert_eq!(report["type"], "apply_report", "{out}");
    assert_eq!(
        (
            report["repos_ok"].as_u64(),
            report["repos_skipped"].as_u64()
        ),
        (Some(6), Some(3)),
        "{out}"
    );
    for name in ["pub", "priv", "gated"] {
        let r = repo_by_dest(&report, &format!("{p}-{name}"));
        assert_eq!(
            (r["status"].as_str(), r["verified"].as_bool()),
            (Some("ok"), Some(true)),
            "{name}: {out}"
        );
    }
    // --json: stdout is NDJSON only; the line across repositories goes to stderr, fed by the
    // workers' byte counts while they run, once per finished repository and at the end.
    for line in out.stdout.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}\n{out}"));
    }
    let across: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("apply: ") && l.contains("repositories done"))
        .collect();
    assert!(across.len() >= 6, "{out}");
    let planned: u64 = lines
        .iter()
        .filter(|(_, l)| ["create", "update"].contains(&l["action"].as_str().unwrap()))
        .map(|(_, l)| l["bytes"].as_u64().unwrap())
        .sum();
    let last = across.last().unwrap();
    let planned = human_bytes(planned);
    assert!(
        last.starts_with(&format!(
            "apply: 6/6 repositories done (0 failed), {planned} of {planned} planned moved, "
        )) && last.ends_with("/s"),
        "{last}\n{out}"
    );

    // The destination's README carries the mapped front matter; the source's is unchanged.
    let dir = ctx.path("pub-copy");
    let got = ctx.run(&[
        "download",
        &format!("ms:acme-ms/{p}-pub"),
        "--local-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(got.code, Some(0), "{got}");
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "---\nlicense: apache-2.0\npipeline_tag: text-generation\ntasks:\n- text-generation\n---\n# a model card\n"
    );
    let src = ctx.path("pub-source");
    let got = ctx.run(&[
        "download",
        &format!("hf:acme/{p}-pub"),
        "--local-dir",
        src.to_str().unwrap(),
        "--method",
        "api",
    ]);
    assert_eq!(got.code, Some(0), "{got}");
    assert_eq!(
        std::fs::read_to_string(src.join("README.md")).unwrap(),
        card_readme
    );
    // The gated source's copy is private on ModelScope.
    let inv = ctx.run(&["inventory", "acme-ms", "--on", "ms", "--json"]);
    let repos = inv.last_json()["repos"].as_array().unwrap().clone();
    let private_of = |name: &str| {
        repos
            .iter()
            .find(|r| r["id"] == format!("acme-ms/{p}-{name}"))
            .unwrap_or_else(|| panic!("{name}: {inv}"))["private"]
            .as_bool()
    };
    assert_eq!(
        (private_of("gated"), private_of("priv"), private_of("pub")),
        (Some(true), Some(true), Some(false))
    );

    // Again: nothing left to do, nothing moves.
    let out = ctx.run_with_env(&apply, &[MS_ORGS]);
    assert_eq!(out.code, Some(0), "{out}");
    let report = out.last_json();
    let moved: u64 = report["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["files_moved"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 0, "{out}");
    assert!(out.of_type("start").is_empty(), "a worker ran: {out}");

    // The same plan after a source moved: that line is refused with a hint, the others go on.
    edit(
        &ctx,
        "hf",
        &format!("acme/{p}-priv"),
        &["notes.txt=changed\n"],
        &[],
    );
    let out = ctx.run_with_env(&apply, &[MS_ORGS]);
    assert_eq!(out.code, Some(4), "{out}");
    let report = out.last_json();
    let r = repo_by_dest(&report, &format!("{p}-priv"));
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("moved since it was planned")
            && err.contains("hint: review the change and write the plan again"),
        "{out}"
    );
    assert_eq!(r["exit_code"], 1);
    assert_eq!(
        (report["repos_ok"].as_u64(), report["repos_failed"].as_u64()),
        (Some(5), Some(1)),
        "{out}"
    );
    ctx.assert_no_canaries();
}

#[test]
fn a_bad_plan_file_is_refused_before_anything_moves() {
    let ctx = TestContext::offline();
    let plan = ctx.path("plan.jsonl");
    std::fs::write(&plan, "{\"hubferry_plan\": 7, \"source\": \"hf:a/b\"}\n").unwrap();
    let out = ctx.run(&["apply", plan.to_str().unwrap(), "--backend", "local"]);
    our_snapshot!(ctx, out, @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    error: [TEMP]/plan.jsonl:1: plan format version 7 is not one this hubferry reads (1)

    hint: write the plan again with this hubferry: `hubferry plan …`
    ");
    let out = ctx.run(&["plan", "hf:acme", "--to", "hf:other"]);
    assert_eq!(out.code, Some(2), "{out}");
}

#[test]
fn a_modelscope_configuration_task_becomes_the_hf_pipeline_tag_shown_in_the_plan() {
    let ctx = TestContext::new();
    let name = unique("cfg-card");
    let card = "---\nlicense: Apache License 2.0\n---\n# a summarizer\n";
    ctx.seed_spec(&json!([
        {"platform": "ms", "id": format!("alice/{name}"),
         "files": {"README.md": card,
                   "configuration.json": "{\"framework\": \"pytorch\", \"task\": \"text-summarization\"}"}},
    ]));
    let (ms, hf) = (format!("ms:alice/{name}"), format!("hf:alice/{name}"));
    let migrate = ["migrate", &ms, "--to", "hf", "--backend", "local"];
    let dry = ctx.run(&[&migrate[..], &["--dry-run"]].concat());
    assert_eq!(dry.code, Some(0), "{dry}");
    assert!(
        dry.stdout.contains(
            "    - license: Apache License 2.0\n    + license: apache-2.0\n    + pipeline_tag: summarization"
        ),
        "{dry}"
    );
    let out = ctx.run(&migrate);
    assert_eq!(out.code, Some(0), "{out}");
    let dir = ctx.path("cfg-copy");
    let got = ctx.run(&["download", &hf, "--local-dir", dir.to_str().unwrap()]);
    assert_eq!(got.code, Some(0), "{got}");
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "---\nlicense: apache-2.0\npipeline_tag: summarization\n---\n# a summarizer\n"
    );
    // verify knows the card for the mapped one; configuration.json itself is identical.
    let out = ctx.run(&["verify", &ms, &hf]);
    assert_eq!(out.code, Some(0), "{out}");
}
