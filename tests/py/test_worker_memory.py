"""The worker's memory against the number of files, by measurement (tracemalloc: every Python
allocation, deterministic, unlike RSS on a shared machine), and its handling of ModelScope
directories too large to list.

Each memory test measures a peak at two file counts and bounds the slope, in bytes per file;
fixed costs (SDK imports, thread pools, one commit batch) cancel out. The measured slopes are in
each docstring; `scripts/bench worker-memory` gives the whole worker's peak RSS (docs/job-file.md).
"""

from __future__ import annotations

import base64
import json
import subprocess
import textwrap
import tracemalloc

import pytest
import test_worker_support as ws
import world

# The sandbox's HF tree pages are kept small here, so an HF listing holds one page of 100
# entries at a time whatever the repo's size, as against the Hub.
HF_PAGE = 100
# As the real hub and the pinned SDK (REPO_FILES_TRUNCATION_LIMIT): `repo/files` answers no more.
MS_CAP = 3000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    svc = world.start_sandbox(
        tmp_path_factory.mktemp("sandbox") / "state", extra=["--page-size", str(HF_PAGE)]
    )
    yield svc
    svc.stop()


def ms_error(run) -> str:
    return run.result["error"] or ""


def files_in_dirs(n: int, per_dir: int, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}d{i // per_dir:03d}/f{i:06d}.txt": b"%d\n" % i for i in range(n)}


def seed_ms_inline(sandbox, repo_id: str, files: dict[str, bytes], repo_type: str = "model"):
    """Commits the files inline through the legacy client, 2000 actions a commit (the hub's cap),
    which seeds thousands of files in seconds."""
    api = ws.ms_api(sandbox)
    api.create_repo(repo_id, repo_type, visibility="public")
    ops = [
        {
            "action": "create",
            "path": path,
            "type": "normal",
            "size": len(data),
            "sha256": "",
            "content": base64.b64encode(data).decode(),
            "encoding": "base64",
        }
        for path, data in files.items()
    ]
    for i in range(0, len(ops), 2000):
        api.legacy.create_commit(repo_id, repo_type, ops[i : i + 2000], "seed")


def ms_hub(sandbox):
    from hubferry_worker.hubs.ms import MsHub
    from hubferry_worker.job import Credentials

    return MsHub(Credentials(None, None, world.MS_USERS["alice"], sandbox["ms_endpoint"]))


def endpoint(repo_id: str, repo_type: str):
    from hubferry_worker.job import Endpoint

    return Endpoint("ms", repo_id, repo_type, "master")


def listing_peak(hub, ep) -> tuple[int, int]:
    """(files listed, traced peak in bytes above what was allocated before the call)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        entries = hub.list_files(ep, "master")
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return len(entries), peak


@pytest.mark.parametrize(
    ("repo_type", "counts", "per_dir"),
    [("model", (4000, 10000), 1000), ("dataset", (600, 3000), 300)],
)
def test_modelscope_listing_holds_compact_entries_not_the_raw_answers(
    sandbox, repo_type, counts, per_dir
):
    """Listing a ModelScope repo costs each file its compact entry, not the SDK's raw answers:
    measured (tracemalloc peak of `MsHub.list_files`, per file between the two counts) 450 B a
    file for models and 530 B for datasets, where listing through `HubApi.list_repo_files` (every
    raw entry of the repo, then every `FileInfo`, held at once) took 1160–1440 B and 1380 B. Models
    count past the 3000-entry cap, so the walk per directory is what is measured; datasets page
    by 200."""
    hub = ms_hub(sandbox)
    peaks = {}
    for n in counts:
        repo = f"alice/list-{repo_type}-{n}"
        seed_ms_inline(sandbox, repo, files_in_dirs(n, per_dir), repo_type)
        listed, peak = listing_peak(hub, endpoint(repo, repo_type))
        assert listed == n + 1  # .gitattributes, which the hub writes itself
        peaks[n] = peak
    lo, hi = counts
    slope = (peaks[hi] - peaks[lo]) / (hi - lo)
    assert slope < 900, f"{slope:.0f} bytes per file listed ({peaks})"


# Runs one job as `python -m hubferry_worker` does, under tracemalloc, and reports the traced peak
# of the whole job and what the job still holds when verification starts (every transfer over,
# garbage collected): the per-file state the transfer kept.
DRIVER = textwrap.dedent(
    """
    import gc, json, sys, tracemalloc
    tracemalloc.start()
    from hubferry_worker import phases
    from hubferry_worker.job_driver import run_job
    held = []
    verify = phases.Runner.verify
    def measured_verify(self, *args):
        gc.collect()
        held.append(tracemalloc.get_traced_memory()[0])
        return verify(self, *args)
    phases.Runner.verify = measured_verify
    result = run_job(json.load(open(sys.argv[1])))
    print("TRACED", tracemalloc.get_traced_memory()[1], held[0], json.dumps(result["status"]),
          file=sys.stderr)
    """
)


def transfer_memory(sandbox, tmp_path, n: int) -> tuple[int, int]:
    """(traced peak, traced bytes held when verification starts) of one whole MS → HF job of n
    small files (the job lists them, as hubferry's plan does), run in its own process."""
    repo = f"alice/moved-{n}"
    files = files_in_dirs(n, 100)
    seed_ms_inline(sandbox, repo, files)
    hub = ms_hub(sandbox)
    listed = hub.list_files(endpoint(repo, "model"), "master")
    job = ws.make_job(
        ("ms", repo, "model"),
        ("hf", repo, "model"),
        job_id=f"mem{n}",
        method="api",
        files=[
            {"path": e.path, "size": e.size, "sha256": e.sha256, "git_oid": e.git_oid}
            for e in listed
            if e.path != ".gitattributes"
        ],
        commit_max_files=100,
        download_workers=8,
    )
    job_file = ws.write_job(tmp_path, job)
    proc = subprocess.run(
        [str(world.PYTHON), "-c", DRIVER, str(job_file)],
        env=ws.worker_env(sandbox, ws.XET_OFF),
        capture_output=True,
        text=True,
        timeout=300,
    )
    ws.assert_no_leak(proc.stdout, proc.stderr)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("TRACED ")), None)
    assert line is not None, proc.stderr[-3000:]
    _, peak, held, status = line.split()
    assert json.loads(status) == "ok", proc.stderr[-3000:]
    run = ws.Run(proc.returncode, proc.stdout, proc.stderr, ws.parse_events(proc.stdout))
    assert run.of("verify")[0]["matched"] == n
    return int(peak), int(held)


def test_a_transfer_keeps_little_per_file(sandbox, tmp_path):
    """Once its files are committed a job holds, per file, only its manifest entry (slots,
    shared with the job file's list, having learned the hashes verified on the way): measured
    between 100 and 500 files (MS → HF), 740 B a file held when verification starts, where
    the worker before (the job file's list and a manifest copy of it, every item kept to the end,
    a copy of each committed entry and a dict of them) held 1870 B. The whole job's peak
    (transfers in flight, the destination listed one page at a time) grows by 1900 B a file;
    before, 22,200 B: each file's hashing allocated an 8 MiB read buffer whatever its size, and
    the peak caught however many parallel downloads were hashing at that moment."""
    counts = (100, 500)
    measured = {n: transfer_memory(sandbox, tmp_path, n) for n in counts}
    lo, hi = (measured[n] for n in counts)
    peak_slope = (hi[0] - lo[0]) / (counts[1] - counts[0])
    held_slope = (hi[1] - lo[1]) / (counts[1] - counts[0])
    assert held_slope < 1200, f"{held_slope:.0f} bytes held per file ({measured})"
    assert peak_slope < 4000, f"{peak_slope:.0f} bytes of peak per file ({measured})"


# A directory of more direct entries than ModelScope lists: its files past the first 3000 (in
# path order, as the sandbox and the hub answer) cannot be seen through the API.
BIG = {f"big/f{i:05d}.txt": b"%d\n" % i for i in range(MS_CAP + 100)}


@pytest.fixture(scope="module")
def big_ms_repo(sandbox):
    seed_ms_inline(sandbox, "alice/big-dir", BIG)
    return "alice/big-dir"


def test_a_destination_directory_too_large_to_list_is_named_not_silently_missing(
    sandbox, tmp_path, big_ms_repo
):
    """Files the destination's listing cannot show are copied again and reported missing by
    verify, with a `listing-incomplete` warning naming the directory and an error saying why,
    with a hint; a delete there is sent all the same (it cannot be seen to be absent)."""
    files = {"top.txt": b"top\n", "big/zz-new.txt": b"new\n"}
    ws.seed_hf(sandbox, tmp_path, "alice/into-big", files)
    unseen = f"big/f{MS_CAP + 50:05d}.txt"
    job = ws.make_job(
        ("hf", "alice/into-big", "model"),
        ("ms", big_ms_repo, "model"),
        method="api",
        delete_paths=[unseen],
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    warnings = [w for w in run.of("warning") if w["code"] == "listing-incomplete"]
    assert len(warnings) == 1 and "`big`" in warnings[0]["message"], run.of("warning")
    assert "3000" in warnings[0]["message"]
    verify = run.of("verify")[0]
    assert verify["matched"] == 1 and verify["missing"] == ["big/zz-new.txt"], verify
    assert run.result["status"] == "failed" and not run.result["verified"]
    error = ms_error(run)
    assert "[listing-incomplete]" in error and "`big`" in error and "\nhint: " in error, error
    assert run.files("deleted")[unseen]["reason"] == "absent at the source (delete_paths)"
    assert sorted(run.files("done")) == sorted(files)


def test_a_source_directory_too_large_to_list_fails_before_copying(sandbox, tmp_path, big_ms_repo):
    """A job that lists its ModelScope source itself (files: null) refuses a directory the hub
    cannot list in full, naming it, with a hint, before anything is copied (as hubferry's plan
    refuses it)."""
    job = ws.make_job(("ms", big_ms_repo, "model"), ("hf", "alice/from-big", "model"))
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.returncode == 1 and run.result["status"] == "failed"
    error = ms_error(run)
    assert "[listing-incomplete]" in error and "`big`" in error, error
    assert "nothing was copied" in error and '\nhint: set "method": "git"' in error, error
    assert not run.of("commit") and not run.files("done")
