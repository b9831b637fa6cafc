"""The transfer worker against the hub sandbox, through the official clients: both directions,
models and datasets, visibility, spaces, revisions, incremental re-runs, deletes, chunk jobs.

Each test runs `python -m hubferry_worker --job-file` as a subprocess (test_worker_support)."""

from __future__ import annotations

import hashlib
import threading

import pytest
import test_worker_support as ws
import world


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_hf_to_ms_model_private_then_incremental_rerun(sandbox, tmp_path):
    files = ws.sample_files(1)
    ws.seed_hf(sandbox, tmp_path, "alice/pm", files, private=True)
    job = ws.make_job(("hf", "alice/pm", "model"), ("ms", "alice/pm", "model"), commit_max_files=3)

    first = ws.run_worker(sandbox, tmp_path, job)
    assert first.returncode == 0, first.stderr[-3000:]
    r = first.result
    assert r["status"] == "ok" and r["verified"] and r["files_moved"] == len(files)
    assert r["bytes_moved"] == sum(map(len, files.values()))
    assert set(first.files("done")) == set(files)
    assert len(first.of("commit")) == 3  # 7 files, ≤ 3 per commit
    start = first.of("start")[0]
    assert start["dest"]["revision"] == "master" and start["files_total"] == len(files)
    assert first.of("verify")[0]["matched"] == len(files)
    # Private source → private destination, created before any upload.
    assert ws.ms_api(sandbox).get_repo("alice/pm", "model").private is True
    assert ws.ms_contents(sandbox, tmp_path, "alice/pm") == files

    again = ws.run_worker(sandbox, tmp_path, job)
    assert again.returncode == 0
    assert again.result["bytes_moved"] == 0 and again.result["files_skipped"] == len(files)
    assert set(again.files("skipped")) == set(files) and not again.of("commit")


def test_ms_to_hf_dataset_with_license_fixed(sandbox, tmp_path):
    files = ws.sample_files(2)
    files["README.md"] = b"---\nlicense: Apache License 2.0\npretty_name: x\n---\n# data\n"
    ws.seed_ms(sandbox, tmp_path, "alice/ds", files, repo_type="dataset")
    job = ws.make_job(("ms", "alice/ds", "dataset"), ("hf", "alice/ds", "dataset"))

    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    assert [w["code"] for w in run.of("warning")].count("license-mapped") == 1
    got = ws.hf_contents(sandbox, tmp_path, "alice/ds", "dataset")
    want = dict(files, **{"README.md": b"---\nlicense: apache-2.0\npretty_name: x\n---\n# data\n"})
    assert got == want
    assert ws.hf_api(sandbox).repo_info("alice/ds", repo_type="dataset").private is False

    # The rewritten README is recognised as already there; nothing moves on a re-run.
    again = ws.run_worker(sandbox, tmp_path, job)
    assert again.result["status"] == "ok" and again.result["bytes_moved"] == 0


def hf_routes(sandbox) -> dict[str, int]:
    return world.admin(sandbox, "/stats", method="GET")["hf"]["routes"]


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "lfs"])
def test_hf_to_ms_dataset_and_ms_to_hf_model_round_trip(sandbox, tmp_path, xet):
    env = None if xet else ws.XET_OFF
    files = ws.sample_files(3, lfs_mb=1)
    ws.seed_hf(sandbox, tmp_path, f"alice/d2-{xet}", files, repo_type="dataset")
    to_ms = ws.make_job(("hf", f"alice/d2-{xet}", "dataset"), ("ms", f"alice/d2-{xet}", "dataset"))
    assert ws.run_worker(sandbox, tmp_path, to_ms, env=env).result["status"] == "ok"
    assert ws.ms_contents(sandbox, tmp_path, f"alice/d2-{xet}", "dataset") == files

    ws.seed_ms(sandbox, tmp_path, f"alice/m3-{xet}", files)
    to_hf = ws.make_job(("ms", f"alice/m3-{xet}", "model"), ("hf", f"acme/m3-{xet}", "model"))
    before = hf_routes(sandbox)
    run = ws.run_worker(sandbox, tmp_path, to_hf, env=env)
    after = hf_routes(sandbox)
    assert run.result["status"] == "ok" and run.result["dest_url"].endswith(f"/acme/m3-{xet}")
    assert ws.hf_contents(sandbox, tmp_path, f"acme/m3-{xet}") == files
    # With Xet on, as in production, the blobs go to the CAS: the LFS batch API is never called.
    grew = {r: after.get(r, 0) - before.get(r, 0) for r in ("lfs-batch", "xet-write-token")}
    assert (grew["lfs-batch"] == 0, grew["xet-write-token"] > 0) == (xet, xet), grew


def test_revision_is_honoured_at_the_source(sandbox, tmp_path):
    api = ws.seed_hf(sandbox, tmp_path, "alice/rev", {"a.txt": b"v1\n", "w.bin": b"1" * 70000})
    api.create_tag("alice/rev", tag="v1")
    api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="a.txt", repo_id="alice/rev")
    api.upload_file(path_or_fileobj=b"new\n", path_in_repo="b.txt", repo_id="alice/rev")
    job = ws.make_job(("hf", "alice/rev", "model"), ("ms", "alice/rev", "model"), revision="v1")
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok"
    assert run.of("start")[0]["source"]["revision"] == "v1"
    want = {"a.txt": b"v1\n", "w.bin": b"1" * 70000}
    assert ws.ms_contents(sandbox, tmp_path, "alice/rev") == want


def test_space_to_modelscope_is_refused_unless_asked_as_model(sandbox, tmp_path):
    files = {"app.py": b"print('hi')\n", "README.md": b"---\nsdk: static\n---\n"}
    ws.seed_hf(sandbox, tmp_path, "alice/sp", files, repo_type="space", space_sdk="static")
    refused = ws.run_worker(
        sandbox, tmp_path, ws.make_job(("hf", "alice/sp", "space"), ("ms", "alice/sp", "space"))
    )
    assert refused.returncode == 1 and refused.result["status"] == "failed"
    assert [w["code"] for w in refused.of("warning")] == ["space-skipped"]
    assert "hint:" in refused.result["error"] and refused.result["files_moved"] == 0
    assert not ws.ms_api(sandbox).repo_exists("alice/sp", "model")

    as_model = ws.make_job(("hf", "alice/sp", "space"), ("ms", "alice/sp", "model"))
    run = ws.run_worker(sandbox, tmp_path, as_model)
    assert run.returncode == 0 and run.result["verified"]
    assert ws.ms_contents(sandbox, tmp_path, "alice/sp") == files


def test_delete_removes_destination_files_absent_at_the_source(sandbox, tmp_path):
    ws.seed_hf(sandbox, tmp_path, "alice/del", {"keep.txt": b"k", "w.bin": b"w" * 100000})
    ws.seed_ms(sandbox, tmp_path, "alice/del", {"stale.txt": b"old", "keep.txt": b"k"})
    # Exactly the listed paths go; one already absent (deleted by a concurrent run) counts as done.
    job = ws.make_job(
        ("hf", "alice/del", "model"),
        ("ms", "alice/del", "model"),
        delete_paths=["stale.txt", "gone.txt"],
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok" and run.result["files_deleted"] == 1
    assert set(run.files("deleted")) == {"stale.txt", "gone.txt"}
    assert run.files("deleted")["gone.txt"]["reason"] == "already absent at the destination"
    assert set(run.files("skipped")) == {"keep.txt"}
    want = {"keep.txt": b"k", "w.bin": b"w" * 100000}
    assert ws.ms_contents(sandbox, tmp_path, "alice/del") == want


def test_concurrent_chunk_jobs_move_exactly_their_files(sandbox, tmp_path):
    files = {f"part-{i}.bin": bytes([i]) * (200000 + i) for i in range(6)}
    ws.seed_hf(sandbox, tmp_path, "alice/ch", files)
    listing = {
        f.path: f
        for f in ws.hf_api(sandbox).list_repo_tree("alice/ch", recursive=True)
        if hasattr(f, "lfs")
    }
    runs = {}

    def chunk(i: int, paths: list[str]):
        manifest = [
            {"path": p, "size": listing[p].size, "sha256": listing[p].lfs.sha256, "git_oid": None}
            for p in paths
        ]
        job = ws.make_job(
            ("hf", "alice/ch", "model"),
            ("ms", "alice/ch", "model"),
            job_id=f"c{i}",
            files=manifest,
            chunk=(i, 2),
        )
        runs[i] = ws.run_worker(sandbox, tmp_path, job)

    names = sorted(files)
    threads = [threading.Thread(target=chunk, args=(i, names[i::2])) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i in range(2):
        assert runs[i].result["status"] == "ok", runs[i].stderr[-2000:]
        assert set(runs[i].files("done")) == set(names[i::2])
        assert runs[i].of("verify")[0]["extra"] == []  # chunk jobs never report other files
    assert ws.ms_contents(sandbox, tmp_path, "alice/ch") == files


def test_gated_source_stays_private_unless_explicitly_allowed(sandbox, tmp_path):
    ws.seed_hf(sandbox, tmp_path, "alice/gated", {"w.bin": b"g" * 70000})
    world.admin(
        sandbox, "/repos/settings", {"platform": "hf", "id": "alice/gated", "gated": "auto"}
    )
    job = ws.make_job(
        ("hf", "alice/gated", "model"), ("ms", "alice/gated", "model"), visibility="public"
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok"
    assert "visibility" in [w["code"] for w in run.of("warning")]
    assert ws.ms_api(sandbox).get_repo("alice/gated", "model").private is True

    allowed = ws.make_job(
        ("hf", "alice/gated", "model"),
        ("ms", "alice/gated-pub", "model"),
        visibility="public",
        allow_public_gated=True,
    )
    assert ws.run_worker(sandbox, tmp_path, allowed).result["status"] == "ok"
    assert ws.ms_api(sandbox).get_repo("alice/gated-pub", "model").private is False


@pytest.mark.parametrize(
    "source, dest, restriction",
    [
        ("hf", "ms", "private"),
        ("hf", "ms", "gated"),
        ("ms", "hf", "private"),
        ("hf", "hf", "forced-private"),
    ],
)
def test_public_destination_created_in_a_race_is_refused(
    sandbox, tmp_path, source, dest, restriction
):
    """Preflight saw no destination; by the time the worker reaches it someone made it public.
    Private (or gated) files never go there: nothing uploaded, `failed`, non-zero exit."""
    repo = f"alice/race-{source}{dest}-{restriction}"
    dest_repo = repo + "-copy"
    files = {"secret.bin": b"s" * 70000, "notes.txt": b"private notes"}
    (ws.seed_hf if source == "hf" else ws.seed_ms)(
        sandbox, tmp_path, repo, files, private=restriction == "private"
    )
    if restriction == "gated":
        world.admin(sandbox, "/repos/settings", {"platform": "hf", "id": repo, "gated": "auto"})
    if dest == "ms":
        ws.ms_api(sandbox).create_repo(dest_repo, "model", visibility="public")
    else:
        ws.hf_api(sandbox).create_repo(dest_repo, private=False)
    options = {"visibility": "private"} if restriction == "forced-private" else {}
    since = world.admin(sandbox, f"/requests?platform={dest}", method="GET")["requests"][-1]["seq"]
    job = ws.make_job((source, repo, "model"), (dest, dest_repo, "model"), **options)
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode != 0 and run.result["status"] == "failed"
    error = run.result["error"]
    assert "[dest-exists-public]" in error and "\nhint: " in error, error
    assert "nothing was uploaded" in error and not run.of("file")
    log = world.admin(sandbox, f"/requests?platform={dest}&since={since}", method="GET")
    writes = [r for r in log["requests"] if r["method"] in ("PUT", "POST")]
    assert not [r for r in writes if "commit" in r["path"] or "lfs" in r["path"]], writes
    read = ws.ms_contents if dest == "ms" else ws.hf_contents
    assert set(read(sandbox, tmp_path, dest_repo)) <= {".gitattributes"}


def test_rejected_tokens_fail_clearly_without_leaking(sandbox, tmp_path):
    canary = "ms-CANARY-unknown-token-000000000000"
    ws.seed_hf(sandbox, tmp_path, "alice/tok", {"a.txt": b"a"})
    job = ws.make_job(("hf", "alice/tok", "model"), ("ms", "alice/tok", "model"))
    run = ws.run_worker(sandbox, tmp_path, job, env={"MODELSCOPE_API_TOKEN": canary})
    assert run.returncode == 1 and run.result["status"] == "failed"
    assert "token was rejected" in run.result["error"] and "hint:" in run.result["error"]
    assert canary not in run.stdout + run.stderr

    # alice may not write to bob's namespace: a permission error with a hint, nothing created.
    other = ws.make_job(("hf", "alice/tok", "model"), ("ms", "bob/tok", "model"))
    denied = ws.run_worker(sandbox, tmp_path, other)
    assert denied.result["status"] == "failed" and "hint:" in denied.result["error"]
    assert not ws.ms_api(sandbox, "bob").repo_exists("bob/tok", "model")


def test_many_small_files_in_bounded_batches(sandbox, tmp_path):
    files = {f"shards/{i // 50}/f{i:04d}.txt": b"%d\n" % i for i in range(300)}
    ws.seed_ms(sandbox, tmp_path, "alice/many", files, repo_type="dataset")
    job = ws.make_job(
        ("ms", "alice/many", "dataset"), ("hf", "alice/many", "dataset"), commit_max_files=120
    )
    run = ws.run_worker(sandbox, tmp_path, job, timeout=180)
    assert run.result["status"] == "ok" and run.result["files_moved"] == 300, run.stderr[-2000:]
    assert [c["files"] for c in run.of("commit")] == [120, 120, 60]
    assert run.of("verify")[0]["matched"] == 300


def test_a_job_moves_exactly_its_listed_files_and_verify_off(sandbox, tmp_path):
    # The worker matches no pattern: the listed files move, whatever their names look like.
    files = {"a.json": b"{}", "nested/b.json": b"[]", "c.txt": b"c", "w.bin": b"w" * 70000}
    ws.seed_hf(sandbox, tmp_path, "alice/filt", files)
    listed = [
        {"path": p, "size": len(files[p]), "sha256": _sha(files[p])} for p in ("a.json", "w.bin")
    ]
    job = ws.make_job(
        ("hf", "alice/filt", "model"),
        ("ms", "alice/filt", "model"),
        files=listed,
        verify=False,
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode == 0 and run.result["status"] == "ok"
    assert run.result["verified"] is False and not run.of("verify")
    assert run.of("start")[0]["files_total"] == 2
    assert ws.ms_contents(sandbox, tmp_path, "alice/filt") == {
        "a.json": b"{}",
        "w.bin": b"w" * 70000,
    }
