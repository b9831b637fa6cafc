"""`progress` events while one large file moves: bytes_done advances inside the file, during its
download (partial file measured on disk) and its upload (bytes read by the upload body, or for
an upload through Xet, by hf_xet), and
never goes back, also when a corrupt copy makes the worker fetch the file again. Both hubs run in
a sandbox shaped to 20 MB/s each way, so every stage of a 40 MiB file spans several ticks."""

from __future__ import annotations

import random
import threading

import pytest
import test_worker_support as ws
import world

SIZE = 40 * ws.MB


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    svc = world.start_sandbox(
        tmp_path_factory.mktemp("shaped") / "state",
        extra=["--hf-bandwidth", "20", "--ms-bandwidth", "20"],
    )
    yield svc
    svc.stop()


def progress_until_done(run: ws.Run, path: str) -> list[int]:
    """bytes_done of the progress events emitted before `path` got its `done` event."""
    out = []
    for event in run.events:
        if event["type"] == "file" and event["path"] == path:
            assert event["status"] == "done", event
            return out
        if event["type"] == "progress":
            out.append(event["bytes_done"])
    raise AssertionError(f"no file event for {path}")


def assert_monotonic_and_final(run: ws.Run) -> None:
    progress = run.of("progress")
    done = [p["bytes_done"] for p in progress]
    assert done == sorted(done), done
    assert all(0 <= p["bytes_done"] <= p["bytes_total"] for p in progress)
    last = progress[-1]
    assert [last[k] for k in ("bytes_done", "bytes_total", "files_done", "files_total")] == [
        SIZE,
        SIZE,
        1,
        1,
    ]


def test_stats_count_each_file_once_and_never_go_back():
    from hubferry_worker.pipeline import Stats

    stats = Stats(bytes_total=300)
    stats.begin(stats.downloading, "a", 100)
    stats.begin(stats.downloading, "b", 200)
    stats.seen(stats.downloading, "a", 60)
    stats.seen(stats.downloading, "b", 500)  # partial and renamed copy seen at once: capped
    assert stats.progress_bytes() == (60 + 200) // 2
    stats.seen(stats.downloading, "a", 10)  # the SDK started "a" over
    assert stats.progress_bytes() == 130
    with stats.lock:  # as the pipeline does when "a" ends: counted and out of flight together
        stats.bytes_downloaded += 100
        stats.downloading.pop("a")
    stats.seen(stats.downloading, "a", 100)  # a late measurement of an ended download
    assert stats.progress_bytes() == 150
    stats.end(stats.downloading, "b")  # "b" failed: what it showed stays shown
    assert stats.progress_bytes() == 150 > stats.bytes_done() == 50


def move_one_big_file(
    shaped, tmp_path, source: str, repo_id: str, seed: int, env: dict | None = None
) -> set[int]:
    """Moves a one-file repo from `source` to the other hub; the bytes_done values strictly
    between 0 and the file size seen before the file was done."""
    blob = random.Random(seed).randbytes(SIZE)
    dest = "ms" if source == "hf" else "hf"
    seed_repo = ws.seed_hf if source == "hf" else ws.seed_ms
    seed_repo(shaped, tmp_path, repo_id, {"model.safetensors": blob})
    job = ws.make_job((source, repo_id, "model"), (dest, repo_id, "model"))

    run = ws.run_worker(shaped, tmp_path, job, timeout=180, env=env)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    assert_monotonic_and_final(run)
    return set(progress_until_done(run, "model.safetensors")) - {0, SIZE}


def test_bytes_done_advances_inside_one_large_file(shaped, tmp_path):
    # On the classic LFS path: hf_xet reconstructs a download in large pieces it writes late, so
    # the partial file on disk grows in a step or two and shows little inside the file.
    inside = move_one_big_file(shaped, tmp_path, "hf", "alice/one-big", 41, env=ws.XET_OFF)
    # To ModelScope the download streams into the upload, so both halves of bytes_done advance
    # together: the shaped links hold the file for at least 2.1 s, four or more 0.5 s ticks,
    # which land on both sides of the midpoint. (Which side a tick falls on is timing, so only
    # the spread is asserted, not a count per side.)
    assert len(inside) >= 3, sorted(inside)
    assert min(inside) < SIZE // 2 < max(inside), sorted(inside)


def test_bytes_done_advances_inside_a_modelscope_download_and_an_hf_upload(shaped, tmp_path):
    # On the classic LFS path the HF upload half counts how far the SDK has read the staged
    # file: the PUT body, paced by the shaped link.
    inside = move_one_big_file(shaped, tmp_path, "ms", "alice/ms-big", 43, env=ws.XET_OFF)
    assert len({b for b in inside if b < SIZE // 2}) >= 2, sorted(inside)
    assert len({b for b in inside if b > SIZE // 2}) >= 2, sorted(inside)


def test_an_hf_upload_through_xet_advances_with_the_network(shaped, tmp_path):
    # Through Xet the upload half follows hf_xet's own progress report: the xorb bytes its
    # request bodies have sent, paced by the shaped link, not how far it has read the file (it
    # reads a file this size at once, ahead of the network).
    size = 48 * ws.MB
    blob = random.Random(47).randbytes(size)
    ws.seed_ms(shaped, tmp_path, "alice/ms-xet", {"model.safetensors": blob})
    job = ws.make_job(("ms", "alice/ms-xet", "model"), ("hf", "alice/ms-xet", "model"))
    since = max(e["seq"] for e in world.admin(shaped, "/requests", method="GET")["requests"])
    run = ws.run_worker(shaped, tmp_path, job, timeout=180)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    log = world.admin(shaped, f"/requests?since={since}&platform=hf", method="GET")["requests"]
    routes = {e["route"] for e in log}
    assert "xet-xorb" in routes and "lfs-batch" not in routes, routes
    done = [p["bytes_done"] for p in run.of("progress")]
    assert done == sorted(done) and done[-1] == size, done
    uploading = {b for b in progress_until_done(run, "model.safetensors") if size // 2 < b < size}
    assert len(uploading) >= 3, sorted(uploading)


def test_hf_upload_reads_are_reported_while_they_happen(tmp_path):
    from hubferry_worker.hubs.hf import reads_reported

    path, other = tmp_path / "blob", tmp_path / "other"
    path.write_bytes(bytes(3 * ws.MB))
    other.write_bytes(bytes(ws.MB))
    seen: list[int] = []
    reported = threading.Condition()

    def meter(n: int) -> None:
        with reported:
            seen.append(n)
            reported.notify_all()

    with reads_reported(path, meter), open(other, "rb") as unrelated, open(path, "rb") as f:
        unrelated.read()
        for step in (1, 2, 3):
            f.read(ws.MB)
            with reported:
                assert reported.wait_for(lambda s=step: seen and seen[-1] == s * ws.MB, 10), seen
    assert set(seen) <= {0, ws.MB, 2 * ws.MB, 3 * ws.MB}  # never the other file's offset
    with reads_reported(path, None):  # no meter (not inside a pipeline upload): nothing to do
        pass


def test_a_file_fetched_again_never_takes_progress_back(shaped, tmp_path):
    blob = random.Random(42).randbytes(SIZE)
    ws.seed_hf(shaped, tmp_path, "alice/refetch", {"model.safetensors": blob})
    # The first download gets one flipped byte; the upload's hash check catches it before the
    # upload completes and the worker downloads the whole file again. Byte faults bite the
    # Hub's HTTP downloads, so the worker runs on the classic LFS path here.
    world.admin(
        shaped,
        "/faults",
        {"kind": "corrupt", "file": "model.safetensors", "count": 1, "platform": "hf"},
    )
    try:
        job = ws.make_job(("hf", "alice/refetch", "model"), ("ms", "alice/refetch", "model"))
        run = ws.run_worker(shaped, tmp_path, job, timeout=240, env=ws.XET_OFF)
    finally:
        world.admin(shaped, "/faults", method="DELETE")
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    assert any(r["op"] == "download" and "sha256" in r["reason"] for r in run.of("retry"))
    assert_monotonic_and_final(run)
    assert ws.ms_contents(shaped, tmp_path, "alice/refetch") == {"model.safetensors": blob}
