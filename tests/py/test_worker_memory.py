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
    measured (tracemalloc peak of `MsHub.list_files`, per file between the two counts) about
    170 B a file for models and 190 B for datasets, where listing through
    `HubApi.list_repo_files` (every raw entry of the repo, then every `FileInfo`, held at once)
    took about 3.7 kB for models and 3.6 kB for datasets. Models count past the 3000-entry cap, so
    the walk per directory is what is measured; datasets page by 200."""
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
    print("SLOPE", repo_type, slope, peaks)
    assert slope < 1000, f"{slope:.0f} bytes per file listed ({peaks})"


DRIVER = textwrap.dedent(
    """
    import json, sys, tracemalloc
    tracemalloc.start()
    from hubferry_worker.job_driver import run_job
    result = run_job(json.load(open(sys.argv[1])))
    print("TRACED-PEAK", tracemalloc.get_traced_memory()[1], json.dumps(result["status"]),
          file=sys.stderr)
    """
)


def transfer_peak(sandbox, tmp_path, n: int) -> int:
    """The traced peak of one whole MS → HF job of n small files (the job lists them, as
    hubferry's plan does), run in its own process."""
    repo = f"alice/moved-{n}"
    files = files_in_dirs(n, 200)
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
    line = next((x for x in proc.stderr.splitlines() if x.startswith("TRACED-PEAK")), None)
    assert line is not None, proc.stderr[-3000:]
    _, peak, status = line.split()
    assert json.loads(status) == "ok", proc.stderr[-3000:]
    run = ws.Run(proc.returncode, proc.stdout, proc.stderr, ws.parse_events(proc.stdout))
    assert run.of("verify")[0]["matched"] == n
    return int(peak)


def test_a_transfer_keeps_little_per_file(sandbox, tmp_path):
    """A whole job's traced peak grows by a few hundred bytes per file moved: the manifest
    entries (slots, shared with the job file's list, learning the hashes verified on the way),
    nothing per file once it is committed, the destination's listing one page at a time.
    Measured between 250 and 1250 files (MS → HF): about 600 B a file, where the worker before
    (job file list and manifest copies, items kept to the end, a record per committed file and a
    dict of them at verify) took about 1.5 kB."""
    counts = (200, 800)
    peaks = {n: transfer_peak(sandbox, tmp_path, n) for n in counts}
    slope = (peaks[counts[1]] - peaks[counts[0]]) / (counts[1] - counts[0])
    print("SLOPE transfer", slope, peaks)
    assert slope < 1000, f"{slope:.0f} bytes per file ({peaks})"
