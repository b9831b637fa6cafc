//! `--revisions`: branches and tags mirrored both ways and re-synced after the source moved, and
//! the provenance trailer read back by a run with a fresh state directory.
//!
//! History is built through the official clients (`refs_edit.py`); the one thing neither client
//! can do — create a ModelScope branch — goes through the sandbox's admin endpoint, standing in
//! for a user creating it with git or in the web console.

use std::process::Stdio;

use serde_json::{json, Value};

use crate::our_snapshot;
use crate::support::{admin_json, root, unique, Output, TestContext};

/// Runs `steps` (refs_edit.py's format) on one repo; returns `{ref name: commit}` afterwards.
fn history(ctx: &TestContext, platform: &str, repo_id: &str, steps: Value) -> Value {
    let mut child = ctx
        .client_command(&root().join("tests/it/refs_edit.py"))
        .args(["--platform", platform, "--repo-id", repo_id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running refs_edit.py");
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        steps.to_string().as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "refs_edit.py on {platform}:{repo_id} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap()
}

/// A repo's refs now, `{name: commit}`, read over the hub's API (HF `refs`, ModelScope
/// `revisions`; the test repos are public).
fn refs_of(ctx: &TestContext, platform: &str, repo_id: &str) -> Value {
    let mut out = serde_json::Map::new();
    if platform == "hf" {
        let v = admin_json(
            &ctx.world.hf_endpoint,
            "GET",
            &format!("/api/models/{repo_id}/refs"),
            None,
        );
        for r in v["branches"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["tags"].as_array().unwrap())
        {
            out.insert(
                r["name"].as_str().unwrap().into(),
                r["targetCommit"].clone(),
            );
        }
    } else {
        let v = admin_json(
            &ctx.world.ms_endpoint,
            "GET",
            &format!("/api/v1/models/{repo_id}/revisions"),
            None,
        );
        let map = &v["Data"]["RevisionMap"];
        for r in map["Branches"]
            .as_array()
            .unwrap()
            .iter()
            .chain(map["Tags"].as_array().unwrap())
        {
            out.insert(
                r["Revision"].as_str().unwrap().into(),
                r["CommitId"].clone(),
            );
        }
    }
    Value::Object(out)
}

/// The default branch's history: v1 on its first commit, v2 at its head.
fn default_history(default: &str) -> Value {
    json!([
        {"commit": {"branch": default, "files": {"README.md": "# refs\n", "a.txt": "one"}}},
        {"tag": {"name": "v1", "at": default}},
        {"commit": {"branch": default, "files": {"a.txt": "two"}}},
        {"tag": {"name": "v2", "at": default}},
    ])
}

/// One commit on `dev` (made from v2), tagged v3: two branches and three tags in all.
fn dev_history() -> Value {
    json!([
        {"commit": {"branch": "dev", "files": {"dev.txt": "dev"}}},
        {"tag": {"name": "v3", "at": "dev"}},
    ])
}

/// The source moved: a new commit on `dev`, tagged v4; the default branch untouched.
fn moved() -> Value {
    json!([
        {"commit": {"branch": "dev", "files": {"dev2.txt": "more"}}},
        {"tag": {"name": "v4", "at": "dev"}},
    ])
}

fn refs_json(out: &Output) -> Value {
    let v = out
        .json_lines()
        .into_iter()
        .rev()
        .find(|v| v["type"] == "revisions")
        .unwrap_or_else(|| panic!("no revisions object:\n{out}"));
    v["refs"].clone()
}

fn action(refs: &Value, kind: &str, name: &str) -> String {
    refs.as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {refs}"))["action"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `migrate SOURCE --to TO --revisions all` (local worker): its output and `refs`.
fn mirror_all(ctx: &TestContext, source: &str, to: &str) -> (Output, Value) {
    let args = ["migrate", source, "--to", to, "--revisions", "all"];
    let out = ctx.run(&[&args[..], &["--backend", "local", "--json"]].concat());
    assert_eq!(out.code, Some(0), "{out}");
    let refs = refs_json(&out);
    (out, refs)
}

/// `sync --config CONFIG --json`: the mirror's `refs`.
fn resync(ctx: &TestContext, config: &str) -> Value {
    let out = ctx.run(&["sync", "--config", config, "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    refs_json(&out)
}

/// `verify SRC@REV DEST@REV` passes.
fn same(ctx: &TestContext, src: &str, dest: &str, rev: &str, dest_rev: &str) {
    let out = ctx.run(&[
        "verify",
        &format!("{src}@{rev}"),
        &format!("{dest}@{dest_rev}"),
    ]);
    assert_eq!(
        out.code,
        Some(0),
        "{src}@{rev} vs {dest}@{dest_rev}:\n{out}"
    );
}

fn mirrors_file(ctx: &TestContext, name: &str, source: &str, dest: &str) -> String {
    mirror_table(
        ctx,
        "mirrors.toml",
        name,
        source,
        dest,
        "revisions = \"all\"\n",
    )
}

#[test]
fn hf_to_modelscope_tags_cross_a_branch_waits_for_its_creation_and_a_resync_moves_only_dev() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-refs-hm"));
    history(&ctx, "hf", &id, default_history("main"));
    history(
        &ctx,
        "hf",
        &id,
        json!([{"branch": {"name": "dev", "from": "v2"}}]),
    );
    history(&ctx, "hf", &id, dev_history());
    let (hf, ms) = (format!("hf:{id}"), format!("ms:{id}"));

    let (out, refs) = mirror_all(&ctx, &hf, "ms");
    assert_eq!(action(&refs, "branch", "main"), "updated", "{refs}");
    // ModelScope's API cannot create `dev`: skipped, and its head's tag built on master instead.
    assert_eq!(action(&refs, "branch", "dev"), "skipped", "{refs}");
    assert!(
        out.stderr
            .contains("ModelScope's API cannot create branches"),
        "{out}"
    );
    for tag in ["v1", "v2", "v3"] {
        assert_eq!(action(&refs, "tag", tag), "created", "{tag}: {refs}");
        same(&ctx, &hf, &ms, tag, tag);
    }
    same(&ctx, &hf, &ms, "main", "master");
    assert_eq!(
        refs_of(&ctx, "ms", &id)["v2"],
        refs_of(&ctx, "ms", &id)["master"]
    );

    // Someone creates `dev` on ModelScope; the source moves on `dev` only.
    ctx.admin(
        "POST",
        "/refs",
        Some(&json!({"platform": "ms", "id": id, "branch": "dev", "start": "master"})),
    );
    history(&ctx, "hf", &id, moved());
    let master_before = refs_of(&ctx, "ms", &id)["master"].clone();
    let config = mirrors_file(&ctx, "refs", &hf, &ms);
    let refs = resync(&ctx, &config);
    assert_eq!(action(&refs, "branch", "main"), "current", "{refs}");
    assert_eq!(action(&refs, "branch", "dev"), "updated", "{refs}");
    assert_eq!(action(&refs, "tag", "v4"), "created", "{refs}");
    for tag in ["v1", "v2", "v3"] {
        assert_eq!(action(&refs, "tag", tag), "exists", "{refs}");
    }
    let after = refs_of(&ctx, "ms", &id);
    assert_eq!(
        after["master"], master_before,
        "an unchanged branch got a commit"
    );
    assert_eq!(after["v4"], after["dev"]);
    same(&ctx, &hf, &ms, "dev", "dev");
    same(&ctx, &hf, &ms, "v4", "v4");

    // Nothing moved since: a third sync changes nothing, and says so.
    let out = ctx.run(&["sync", "--config", &config]);
    assert_eq!(out.code, Some(0), "{out}");
    our_snapshot!(ctx, out.stdout.clone(), @"
    done, verified hf:model:alice/it-refs-hm-[N]@main → ms:model:alice/it-refs-hm-[N]@master
      url:       [MS_ENDPOINT]/models/alice/it-refs-hm-[N]
      moved:     0 files, 0 B
      skipped:   2 files, 10 B (already at the destination)
      time:      [DURATION] ([RATE], local backend)
      verified:  2 files match the source (re-listed by hubferry)
    done, verified hf:model:alice/it-refs-hm-[N]@dev → ms:model:alice/it-refs-hm-[N]@dev
      url:       [MS_ENDPOINT]/models/alice/it-refs-hm-[N]
      moved:     0 files, 0 B
      skipped:   4 files, 17 B (already at the destination)
      time:      [DURATION] ([RATE], local backend)
      verified:  4 files match the source (re-listed by hubferry)
    revisions hf:alice/it-refs-hm-[N] → ms:alice/it-refs-hm-[N]: 2 branches, 4 tags
      branch main → master  current
      branch dev            current
      tag    v1             exists
      tag    v2             exists
      tag    v3             exists
      tag    v4             exists
    sync 1 mirror: 1 current, 0 failed
      refs  6 refs: 0 updated, 0 created, 6 current, 0 skipped, 0 failed
    ");
    assert_eq!(refs_of(&ctx, "ms", &id), after);
}

#[test]
fn modelscope_to_hf_creates_branches_and_tags_and_provenance_counts_commits_behind() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-refs-mh"));
    // ModelScope's clients cannot create a branch: the admin endpoint makes `dev` from v2.
    history(&ctx, "ms", &id, default_history("master"));
    ctx.admin(
        "POST",
        "/refs",
        Some(&json!({"platform": "ms", "id": id, "branch": "dev", "start": "v2"})),
    );
    history(&ctx, "ms", &id, dev_history());
    let (ms, hf) = (format!("ms:{id}"), format!("hf:{id}"));

    let (_, refs) = mirror_all(&ctx, &ms, "hf");
    assert_eq!(action(&refs, "branch", "master"), "updated", "{refs}");
    assert_eq!(action(&refs, "branch", "dev"), "created", "{refs}");
    for tag in ["v1", "v2", "v3"] {
        assert_eq!(action(&refs, "tag", tag), "created", "{tag}: {refs}");
        same(&ctx, &ms, &hf, tag, tag);
    }
    same(&ctx, &ms, &hf, "master", "main");
    same(&ctx, &ms, &hf, "dev", "dev");
    let hf_refs = refs_of(&ctx, "hf", &id);
    assert_eq!(hf_refs["v3"], hf_refs["dev"]);
    assert_eq!(hf_refs["v2"], hf_refs["main"]);

    history(&ctx, "ms", &id, moved());
    let config = mirrors_file(&ctx, "back", &ms, &hf);
    let refs = resync(&ctx, &config);
    assert_eq!(action(&refs, "branch", "master"), "current", "{refs}");
    assert_eq!(action(&refs, "branch", "dev"), "updated", "{refs}");
    assert_eq!(action(&refs, "tag", "v4"), "created", "{refs}");
    let after = refs_of(&ctx, "hf", &id);
    assert_eq!(
        after["main"], hf_refs["main"],
        "an unchanged branch got a commit"
    );
    assert_eq!(after["v4"], after["dev"]);

    // Provenance, read back with a state directory no run has used: the HF copy's last commit
    // names the ModelScope commit it mirrors; ModelScope lists no history to count.
    let fresh = ctx.path("fresh-state");
    let fresh = fresh.to_str().unwrap();
    let env = [("HUBFERRY_STATE_DIR", Some(fresh))];
    let out = ctx.run_with_env(
        &["verify", &format!("{ms}@dev"), &format!("{hf}@dev")],
        &env,
    );
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains(&format!("mirrors {ms}@")), "{out}");
    assert!(
        out.stdout.ends_with(", current\n") || out.stdout.contains(", current\n"),
        "{out}"
    );

    // The other way round, from HF: commits on the source are counted.
    let back = format!("alice/{}", unique("it-refs-back"));
    let out = ctx.run(&[
        "migrate",
        &hf,
        "--to",
        "ms",
        "--dest",
        &back,
        "--backend",
        "local",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    history(
        &ctx,
        "hf",
        &id,
        json!([
            {"commit": {"branch": "main", "files": {"b.txt": "1"}}},
            {"commit": {"branch": "main", "files": {"b.txt": "2"}}},
        ]),
    );
    let back_ref = format!("ms:{back}");
    let out = ctx.run_with_env(&["verify", &hf, &back_ref], &env);
    assert_eq!(out.code, Some(1), "{out}");
    our_snapshot!(ctx, out.stdout.clone(), @"
    DIFFERENT hf:model:alice/it-refs-mh-[N]@main ≠ ms:model:alice/it-refs-back-[N]@master: 2 of 3 files match; 0 mismatched, 1 missing, 0 extra
      missing    b.txt
      mirrors hf:alice/it-refs-mh-[N]@[SHORT_SHA], 2 commits behind
      not compared: .gitattributes (platform-generated)
    ");
    let config = ctx.path("back.toml");
    std::fs::write(
        &config,
        format!("[[mirror]]\nname = \"back\"\nsource = \"{hf}\"\ndest = \"{back_ref}\"\nbackend = \"local\"\n"),
    )
    .unwrap();
    let out = ctx.run_with_env(
        &[
            "sync",
            "--config",
            config.to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
        &env,
    );
    assert_eq!(out.code, Some(0), "{out}");
    let plan = out.last_json();
    assert_eq!(plan["provenance"]["commits_behind"], 2, "{out}");
    assert_eq!(plan["provenance"]["source"], hf, "{out}");
    assert!(out.stderr.contains("2 commits behind"), "{out}");
}

/// A mirrors file of one mirror, `extra` lines appended to its table.
fn mirror_table(
    ctx: &TestContext,
    file: &str,
    name: &str,
    source: &str,
    dest: &str,
    extra: &str,
) -> String {
    let path = ctx.path(file);
    std::fs::write(
        &path,
        format!(
            "[[mirror]]\nname = \"{name}\"\nsource = \"{source}\"\ndest = \"{dest}\"\nbackend = \"local\"\n{extra}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn revisions_delete_at_the_destination_only_with_consent() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-refs-del"));
    history(
        &ctx,
        "hf",
        &id,
        json!([
            {"commit": {"branch": "main", "files": {"README.md": "# del\n", "a.txt": "a", "b.txt": "b"}}},
            {"tag": {"name": "v1", "at": "main"}},
        ]),
    );
    let (hf, ms) = (format!("hf:{id}"), format!("ms:{id}"));
    // A first mirror deletes nothing that was there: no consent needed.
    let (_, refs) = mirror_all(&ctx, &hf, "ms");
    assert_eq!(action(&refs, "tag", "v1"), "created", "{refs}");

    history(
        &ctx,
        "hf",
        &id,
        json!([{"commit": {"branch": "main", "files": {"a.txt": "a2"}, "delete": ["b.txt"]}}]),
    );
    let before = refs_of(&ctx, "ms", &id);
    let revisions = ["migrate", &hf, "--to", "ms", "--revisions", "all"];
    let out = ctx.run(&[&revisions[..], &["--dry-run", "--json"]].concat());
    assert_eq!(out.code, Some(0), "{out}");
    let refs = refs_json(&out);
    let main = refs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "main")
        .unwrap();
    assert_eq!(main["detail"], "1 file(s) to delete", "{refs}");

    // Without --yes and without a terminal: refused before anything changes.
    let out = ctx.run(&[&revisions[..], &["--backend", "local"]].concat());
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains(&format!(
            "refusing to delete 1 file(s) at ms:{id} (master: 1) without confirmation"
        )),
        "{out}"
    );
    assert!(out.stderr.contains("hint: pass --yes to confirm"), "{out}");
    assert_eq!(
        refs_of(&ctx, "ms", &id),
        before,
        "a refused run changed the destination"
    );

    // sync: the mirrors file's `delete = true` is the consent.
    let config = mirror_table(&ctx, "del.toml", "del", &hf, &ms, "revisions = \"all\"\n");
    let out = ctx.run(&["sync", "--config", &config]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("set `delete = true` on mirror `del`"),
        "{out}"
    );
    assert_eq!(
        refs_of(&ctx, "ms", &id),
        before,
        "a refused sync changed the destination"
    );

    let config = mirror_table(
        &ctx,
        "del.toml",
        "del",
        &hf,
        &ms,
        "revisions = \"all\"\ndelete = true\n",
    );
    let refs = resync(&ctx, &config);
    assert_eq!(action(&refs, "branch", "main"), "updated", "{refs}");
    same(&ctx, &hf, &ms, "main", "master");
    same(&ctx, &hf, &ms, "v1", "v1");
}

#[test]
fn sync_revisions_flag_follows_a_moved_branch_and_inventory_reads_provenance_with_a_fresh_state() {
    let ctx = TestContext::new();
    // An HF org of its own, so that inventory lists this one repository.
    let org = unique("it-prov-org");
    ctx.admin(
        "POST",
        "/orgs",
        Some(&json!({"platform": "hf", "org": org, "members": ["alice"]})),
    );
    let name = unique("it-prov");
    let id = format!("{org}/{name}");
    history(
        &ctx,
        "hf",
        &id,
        json!([
            {"commit": {"branch": "main", "files": {"README.md": "# prov\n", "a.txt": "one"}}},
            {"tag": {"name": "v1", "at": "main"}},
        ]),
    );
    let hf = format!("hf:{id}");
    let ms = format!("ms:alice/{name}");
    // No `revisions` key: the command line's --revisions applies.
    let config = mirror_table(&ctx, "prov.toml", "prov", &hf, &ms, "");
    let sync = ["sync", "--config", &config, "--revisions", "all", "--json"];
    let out = ctx.run(&sync);
    assert_eq!(out.code, Some(0), "{out}");
    let refs = refs_json(&out);
    assert_eq!(action(&refs, "branch", "main"), "updated", "{refs}");
    assert_eq!(action(&refs, "tag", "v1"), "created", "{refs}");
    let first = refs_of(&ctx, "ms", &format!("alice/{name}"));

    let moved = history(
        &ctx,
        "hf",
        &id,
        json!([
            {"commit": {"branch": "main", "files": {"a.txt": "two"}}},
            {"commit": {"branch": "main", "files": {"b.txt": "new"}}},
            {"tag": {"name": "v2", "at": "main"}},
        ]),
    );

    // A state directory no run has used: the copy's last commit says what it mirrors.
    let fresh = ctx.path("fresh-state");
    let env = [("HUBFERRY_STATE_DIR", Some(fresh.to_str().unwrap()))];
    let inventory = [
        "inventory",
        &org,
        "--on",
        "hf",
        "--check-backup",
        "--dest-namespace",
        "alice",
    ];
    let out = ctx.run_with_env(&[&inventory[..], &["--json"]].concat(), &env);
    assert_eq!(out.code, Some(0), "{out}");
    let row = &out.last_json()["repos"][0];
    assert_eq!(row["id"], id, "{out}");
    assert_eq!(row["backup"], "partial", "{out}");
    assert_eq!(row["backup_provenance"]["source"], hf, "{out}");
    assert_eq!(row["backup_provenance"]["commits_behind"], 2, "{out}");
    let out = ctx.run_with_env(&inventory, &env);
    assert_eq!(out.code, Some(0), "{out}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("backup mirrors"))
        .unwrap_or_else(|| panic!("no provenance line:\n{out}"));
    assert!(
        line.trim_start()
            .starts_with(&format!("backup mirrors {hf}@"))
            && line.ends_with(", 2 commits behind"),
        "{line}"
    );

    // The second sync moves main, creates v2 and leaves v1 where it was.
    let out = ctx.run(&sync);
    assert_eq!(out.code, Some(0), "{out}");
    let refs = refs_json(&out);
    assert_eq!(action(&refs, "branch", "main"), "updated", "{refs}");
    assert_eq!(action(&refs, "tag", "v1"), "exists", "{refs}");
    assert_eq!(action(&refs, "tag", "v2"), "created", "{refs}");
    let after = refs_of(&ctx, "ms", &format!("alice/{name}"));
    assert_eq!(after["v1"], first["v1"], "an unchanged tag moved");
    assert_eq!(after["v2"], after["master"]);
    assert_ne!(after["master"], first["master"]);
    same(&ctx, &hf, &ms, "v2", "v2");
    assert_eq!(moved["v2"], moved["main"]);

    // v1 moves at the source (deleted, re-created at main's head): ModelScope cannot move a
    // tag, so it is skipped with a warning that says what to do; nothing else changes.
    history(
        &ctx,
        "hf",
        &id,
        json!([{"untag": "v1"}, {"tag": {"name": "v1", "at": "main"}}]),
    );
    let out = ctx.run(&sync);
    assert_eq!(out.code, Some(0), "{out}");
    let refs = refs_json(&out);
    assert_eq!(action(&refs, "tag", "v1"), "skipped", "{refs}");
    assert_eq!(action(&refs, "tag", "v2"), "exists", "{refs}");
    assert!(
        out.stderr.contains("tag v1 not mirrored: it moved at the source, and ModelScope's API cannot move or delete a tag; delete `v1` there"),
        "{out}"
    );
    assert_eq!(refs_of(&ctx, "ms", &format!("alice/{name}")), after);
}
