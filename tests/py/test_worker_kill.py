"""kill -9 in the middle of a transfer, then the same job again: the re-run moves exactly what the
killed run had not committed. The destination hub runs in its own sandbox with ModelScope
bandwidth shaped to 2 MB/s, so each blob upload takes long enough that the kill deterministically
lands between two commits (the source sandbox would otherwise already hold every blob)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import test_worker_support as ws
import world


@pytest.fixture(scope="module")
def slow_dest(tmp_path_factory):
    svc = world.start_sandbox(
        tmp_path_factory.mktemp("dest") / "state", extra=["--ms-bandwidth", "2"]
    )
    yield svc
    svc.stop()


def test_killed_run_then_rerun_moves_only_the_rest(sandbox, slow_dest, tmp_path):
    files = {f"shard-{i}.safetensors": bytes([65 + i]) * (1536 * 1024 + i) for i in range(6)}
    ws.seed_hf(sandbox, tmp_path, "alice/killme", files)
    job = ws.make_job(
        ("hf", "alice/killme", "model"),
        ("ms", "alice/killme", "model"),
        job_id="kill1",
        commit_max_files=1,
        upload_workers=1,
        download_workers=2,
    )
    dest_env = {"MODELSCOPE_ENDPOINT": slow_dest["ms_endpoint"]}

    killed = ws.run_until(
        sandbox,
        tmp_path,
        job,
        lambda e: e["type"] == "file" and e["status"] == "done",
        env=dest_env,
    )
    assert killed.returncode == -9 and not killed.of("result")
    done_before = killed.files("done")
    assert len(done_before) == 1
    scratch = Path(tempfile.gettempdir())
    assert list(scratch.glob("hubferry-kill1-*")), "a killed worker cannot clean up"

    rerun = ws.run_worker(sandbox, tmp_path, job, env=dest_env, timeout=120)
    r = rerun.result
    assert r["status"] == "ok" and r["verified"], rerun.stderr[-3000:]
    assert set(rerun.files("skipped")) == set(done_before)
    assert set(rerun.files("done")) == set(files) - set(done_before)
    moved_before = sum(e["size"] for e in done_before.values())
    assert r["bytes_moved"] == sum(map(len, files.values())) - moved_before
    assert r["bytes_skipped"] == moved_before
    # The re-run reclaimed the killed run's staging directory and removed its own.
    assert not list(scratch.glob("hubferry-kill1-*"))
