"""What the worker does before its first byte moves, and what it loads: behaviour only (request
logs, imported modules), never wall-clock.

The streams that start together ask ModelScope for their upload URLs in one LFS batch call, and a
direction imports only what it uses (no hf_xet when Hugging Face is only the source)."""

from __future__ import annotations

import random

import test_worker_support as ws
import world

BATCH_ROUTE = "/info/lfs/objects/batch"


def _ms_requests(sandbox, since: int) -> list[dict]:
    return world.admin(sandbox, f"/requests?since={since}&platform=ms", method="GET")["requests"]


def _last_seq(sandbox) -> int:
    log = world.admin(sandbox, "/requests?since=0", method="GET")["requests"]
    return max((r["seq"] for r in log), default=0)


def test_the_first_wave_of_streams_asks_for_its_upload_urls_in_one_request(sandbox, tmp_path):
    rnd = random.Random(151)
    files = {f"w/part-{i:02d}.bin": rnd.randbytes(256 * 1024 + i) for i in range(6)}
    ws.seed_hf(sandbox, tmp_path, "alice/presign", files)
    since = _last_seq(sandbox)
    job = ws.make_job(
        ("hf", "alice/presign", "model"),
        ("ms", "alice/presign", "model"),
        download_workers=4,
        upload_workers=4,
    )

    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    assert run.result["files_moved"] == len(files)
    log = _ms_requests(sandbox, since)
    batches = [r for r in log if r["method"] == "POST" and r["path"].endswith(BATCH_ROUTE)]
    puts = [r for r in log if r["method"] == "PUT"]
    # One call for the four streams that start at once, then one per later stream (the old way:
    # one per stream, six).
    assert len(batches) == 3, [r["path"] for r in batches]
    assert len(puts) == len(files)
    # Every PUT of the first wave went out after that one call, none before it.
    first_batch = min(r["seq"] for r in batches)
    assert all(p["seq"] > first_batch for p in puts)
    assert ws.ms_contents(sandbox, tmp_path, "alice/presign") == files


def test_a_blob_the_batch_call_calls_stored_is_not_uploaded_again(sandbox, tmp_path):
    rnd = random.Random(152)
    files = {f"w/part-{i:02d}.bin": rnd.randbytes(200 * 1024 + i) for i in range(3)}
    ws.seed_hf(sandbox, tmp_path, "alice/presign-known", files)
    # The same bytes already stored in another ModelScope repo of the sandbox's one LFS store.
    first = ws.make_job(
        ("hf", "alice/presign-known", "model"), ("ms", "alice/presign-known-a", "model")
    )
    assert ws.run_worker(sandbox, tmp_path, first).returncode == 0
    since = _last_seq(sandbox)
    again = ws.make_job(
        ("hf", "alice/presign-known", "model"),
        ("ms", "alice/presign-known-b", "model"),
        upload_workers=4,
    )

    run = ws.run_worker(sandbox, tmp_path, again)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    log = _ms_requests(sandbox, since)
    assert len([r for r in log if r["path"].endswith(BATCH_ROUTE)]) == 1
    assert [r for r in log if r["method"] == "PUT"] == []
    assert ws.ms_contents(sandbox, tmp_path, "alice/presign-known-b") == files


def _imported(stderr: str) -> list[str]:
    """Module names in the order Python finished importing them (`PYTHONPROFILEIMPORTTIME`)."""
    return [
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]


def test_a_hub_that_is_only_the_source_leaves_out_what_uploads_need(sandbox, tmp_path):
    rnd = random.Random(153)
    files = {"w/only.bin": rnd.randbytes(300 * 1024), "README.md": b"# x\n"}
    ws.seed_hf(sandbox, tmp_path, "alice/imports", files)
    job = ws.make_job(("hf", "alice/imports", "model"), ("ms", "alice/imports", "model"))

    run = ws.run_worker(sandbox, tmp_path, job, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    modules = _imported(run.stderr)
    assert "huggingface_hub.file_download" in modules and "modelscope_hub.api" in modules
    # hf_xet (a native module) is for uploads to the Hub; this job only reads from it.
    assert "hf_xet" not in modules

    back = ws.make_job(("ms", "alice/imports", "model"), ("hf", "alice/imports-back", "model"))
    run = ws.run_worker(sandbox, tmp_path, back, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    assert "hf_xet" in _imported(run.stderr)


def test_a_new_modelscope_repo_is_looked_up_once_before_it_is_created(sandbox, tmp_path):
    ws.seed_hf(sandbox, tmp_path, "alice/fresh", {"README.md": b"# fresh\n"})
    since = _last_seq(sandbox)
    job = ws.make_job(("hf", "alice/fresh", "model"), ("ms", "alice/fresh", "model"))

    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    log = _ms_requests(sandbox, since)
    creates = [r for r in log if r["method"] == "POST" and r["path"] == "/api/v1/models"]
    assert len(creates) == 1 and creates[0]["status"] == 200
    lookups = [
        r
        for r in log
        if r["method"] == "GET"
        and r["seq"] < creates[0]["seq"]
        and r["path"].rstrip("/").endswith("/alice/fresh")
    ]
    # One `get_repo` (the SDK asks its OpenAPI route, then the legacy one on a 404), not a
    # second one inside the create.
    assert [r["status"] for r in lookups] == [404, 404], [r["path"] for r in lookups]
