"""A job of many small files takes them from one shallow git fetch of the source revision, not one
download request each (phases.SMALL_FILES_VIA_GIT); large files stay on the API path, every file
is still checked against the listing's git blob id or sha256, and `method: api` never touches git.
Observed through the sandboxes' request logs, with the real clients and git on both sides."""

from __future__ import annotations

import random

import test_worker_support as ws
import world
from hubferry_worker.phases import SMALL_FILES_VIA_GIT

COUNT = SMALL_FILES_VIA_GIT + 44


def small_repo(seed: int) -> dict[str, bytes]:
    rnd = random.Random(seed)
    # Text: the hubs keep small text files in git (a small binary file goes to LFS).
    files = {
        f"shard-{i % 3}/part-{i:04d}.json": b'{"v": "%s"}\n'
        % rnd.randbytes(60 + i % 50).hex().encode()
        for i in range(COUNT)
    }
    files["README.md"] = b"# many small files\n"
    files["weights/model.safetensors"] = rnd.randbytes(11 * ws.MB)  # LFS on both hubs
    return files


def requests_since(sandbox, since: int, platform: str) -> list[dict]:
    log = world.admin(sandbox, f"/requests?since={since}&platform={platform}", method="GET")
    return log["requests"]


def last_seq(sandbox) -> int:
    return max(e["seq"] for e in world.admin(sandbox, "/requests", method="GET")["requests"])


def move(
    sandbox, tmp_path, source: str, repo_id: str, method: str, chunks: int = 1
) -> tuple[ws.Run, list[dict]]:
    dest = "ms" if source == "hf" else "hf"
    job = ws.make_job(
        (source, repo_id, "model"), (dest, repo_id, "model"), method=method, chunk=(0, chunks)
    )
    since = last_seq(sandbox)
    run = ws.run_worker(sandbox, tmp_path, job, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    assert run.of("verify")[0]["matched"] == COUNT + 2
    ws.assert_no_leak(run.stdout, run.stderr)
    return run, requests_since(sandbox, since, source)


def test_hf_small_files_come_from_one_git_fetch(sandbox, tmp_path):
    files = small_repo(1)
    ws.seed_hf(sandbox, tmp_path, "alice/small-many", files)
    run, log = move(sandbox, tmp_path, "hf", "alice/small-many", "auto")
    routes = [e["route"] for e in log]
    assert "git" in routes, sorted(set(routes))
    # Only the LFS file is downloaded through `resolve` (a HEAD and a GET, or a few on retry).
    assert routes.count("resolve") <= 4, routes.count("resolve")
    assert f"{COUNT + 1} small files come from one git fetch" in run.stderr
    assert ws.ms_contents(sandbox, tmp_path, "alice/small-many") == files


def test_method_api_downloads_each_small_file(sandbox, tmp_path):
    files = small_repo(2)
    ws.seed_hf(sandbox, tmp_path, "alice/small-api", files)
    run, log = move(sandbox, tmp_path, "hf", "alice/small-api", "api")
    routes = [e["route"] for e in log]
    assert "git" not in routes
    assert routes.count("resolve") >= COUNT + 1
    assert "git fetch" not in run.stderr


def test_a_fetch_of_many_chunks_worth_of_small_files_stays_on_the_api(sandbox, tmp_path):
    # The fetch would carry every chunk's small files: ~90 kB here, times 40,000 chunks > 2 GiB.
    files = small_repo(4)
    ws.seed_hf(sandbox, tmp_path, "alice/small-chunked", files)
    run, log = move(sandbox, tmp_path, "hf", "alice/small-chunked", "auto", chunks=40_000)
    routes = [e["route"] for e in log]
    assert "git" not in routes and routes.count("resolve") >= COUNT + 1
    assert "small files stay on the API: one git fetch would carry about" in run.stderr


def test_ms_small_files_come_from_one_git_fetch(sandbox, tmp_path):
    files = small_repo(3)
    ws.seed_ms(sandbox, tmp_path, "alice/ms-small-many", files)
    run, log = move(sandbox, tmp_path, "ms", "alice/ms-small-many", "auto")
    routes = [e["route"] for e in log]
    assert any("git" in r or "upload-pack" in r for r in routes), sorted(set(routes))
    assert f"{COUNT + 1} small files come from one git fetch" in run.stderr
    # Only the LFS file is downloaded through the file API (`GET .../repo?FilePath=`).
    downloads = [r for r in routes if r.startswith("GET ") and r.endswith("/repo")]
    assert len(downloads) <= 4, len(downloads)
    assert ws.hf_contents(sandbox, tmp_path, "alice/ms-small-many") == files


def test_uploads_wait_for_commits_when_the_source_outruns_them(sandbox, tmp_path):
    # Small files arrive from one git fetch far faster than ModelScope commits (slowed to 300 ms
    # each here). Their operations carry the content inline, so an unbounded backlog would hold
    # the whole repo in memory: at most two commits' worth may wait, plus what the upload
    # threads have in hand.
    files = small_repo(5)
    repo = "alice/small-backlog"
    ws.seed_hf(sandbox, tmp_path, repo, files)
    (fault,) = world.admin(
        sandbox,
        "/faults",
        {
            "kind": "latency",
            "ms": 300,
            "platform": "ms",
            "method": "POST",
            "path": f"{repo}/commit",
        },
    )["added"]
    per_commit, uploaders = 16, 4
    job = ws.make_job(
        ("hf", repo, "model"),
        ("ms", repo, "model"),
        commit_max_files=per_commit,
        upload_workers=uploaders,
    )
    try:
        run = ws.run_worker(sandbox, tmp_path, job, env={"HUBFERRY_WORKER_TRACE": "1"}, timeout=300)
    finally:
        world.admin(sandbox, f"/faults/{fault['id']}", method="DELETE")
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    traces = [line.split() for line in run.stderr.splitlines() if "worker: trace " in line]
    uploaded = sorted(float(t[3]) for t in traces if t[4] in ("uploaded", "streamed"))
    assert len(uploaded) == COUNT + 2, len(uploaded)
    committed, backlog = 0, []
    for commit in run.of("commit"):
        backlog.append(sum(1 for t in uploaded if t < commit["ts"]) - committed)
        committed += commit["files"]
    assert committed == COUNT + 2
    assert max(backlog) <= 2 * per_commit + uploaders, backlog
