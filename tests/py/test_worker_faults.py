"""The worker under injected hub faults (sandbox admin endpoint): storage lock → git fallback,
429 + Retry-After, dropped connections, corrupted bytes, a tampered destination, the staging
budget. Timing is read from events (`wait_s`), never asserted against the wall clock."""

from __future__ import annotations

import pytest
import test_worker_support as ws
import world


@pytest.fixture(autouse=True)
def no_faults_left(sandbox):
    yield
    world.admin(sandbox, "/faults", method="DELETE")


def fault(sandbox, **spec) -> None:
    world.admin(sandbox, "/faults", spec)


def test_storage_lock_403_falls_back_to_git(sandbox, tmp_path):
    files = ws.sample_files(11, lfs_mb=2)
    ws.seed_hf(sandbox, tmp_path, "alice/locked", files, private=True)
    fault(sandbox, kind="storage_lock", repo="alice/locked")
    api_only = ws.make_job(
        ("hf", "alice/locked", "model"), ("ms", "alice/lk-api", "model"), method="api"
    )
    refused = ws.run_worker(sandbox, tmp_path, api_only)
    assert refused.returncode != 0 and not refused.of("fallback")
    assert "403" in refused.result["error"]

    job = ws.make_job(("hf", "alice/locked", "model"), ("ms", "alice/locked", "model"))
    # Tracing switches a user might have set must not make git print the auth header.
    tracing = {"GIT_TRACE": "1", "GIT_CURL_VERBOSE": "1", "GIT_TRACE_CURL": "1"}
    run = ws.run_worker(sandbox, tmp_path, job, env=tracing)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["fallback_used"] and run.result["verified"]
    (fb,) = run.of("fallback")
    assert fb["from"] == "api" and fb["to"] == "git" and "403" in fb["reason"]
    assert ws.ms_contents(sandbox, tmp_path, "alice/locked") == files


def test_git_method_moves_only_the_chunk_files(sandbox, tmp_path):
    files = ws.sample_files(12, lfs_mb=1)
    ws.seed_hf(sandbox, tmp_path, "alice/gitchunk", files)
    wanted = ["weights/model.safetensors", "config.json"]
    manifest = [{"path": p, "size": len(files[p]), "sha256": None, "git_oid": None} for p in wanted]
    job = ws.make_job(
        ("hf", "alice/gitchunk", "model"),
        ("ms", "alice/gitchunk", "model"),
        method="git",
        files=manifest,
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok" and set(run.files("done")) == set(wanted)
    assert ws.ms_contents(sandbox, tmp_path, "alice/gitchunk") == {p: files[p] for p in wanted}


def test_git_method_reads_a_private_modelscope_source(sandbox, tmp_path):
    files = ws.sample_files(13, lfs_mb=1)
    ws.seed_ms(sandbox, tmp_path, "alice/msgit", files, private=True)
    job = ws.make_job(("ms", "alice/msgit", "model"), ("hf", "alice/msgit", "model"), method="git")
    tracing = {"GIT_TRACE": "1", "GIT_CURL_VERBOSE": "1", "GIT_TRACE_CURL": "1"}
    # A HOME without `git lfs install` (as in a fresh container): the worker sets LFS up itself.
    bare_home = tmp_path / "bare-home"
    bare_home.mkdir()
    run = ws.run_worker(sandbox, tmp_path, job, env={**tracing, "HOME": str(bare_home)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "ok" and run.result["verified"]
    assert ws.hf_contents(sandbox, tmp_path, "alice/msgit") == files
    log = world.admin(sandbox, "/requests?platform=ms", method="GET")["requests"]
    git_paths = [r["path"] for r in log if "/alice/msgit.git/" in r["path"]]
    assert any(p.endswith("/info/lfs/objects/batch") for p in git_paths), git_paths
    api_downloads = [r for r in log if r["path"].endswith("/alice/msgit/repo")]
    assert not api_downloads, "files came through the HTTP API, not git"


def test_429_with_retry_after_is_honoured(sandbox, tmp_path):
    files = {"a.bin": b"a" * 300000, "b.txt": b"b"}
    ws.seed_hf(sandbox, tmp_path, "alice/rl", files)
    fault(
        sandbox,
        kind="rate_limit",
        count=2,
        retry_after=2,
        platform="hf",
        path=r"/resolve/.*/a\.bin",
    )
    run = ws.run_worker(
        sandbox, tmp_path, ws.make_job(("hf", "alice/rl", "model"), ("ms", "alice/rl", "model"))
    )
    assert run.result["status"] == "ok", run.stderr[-3000:]
    retries = [e for e in run.of("retry") if e["status"] == 429]
    assert retries, run.stdout
    assert all(e["path"] == "a.bin" and e["op"] == "download" for e in retries)
    assert max(e["wait_s"] for e in retries) >= 2  # the server's Retry-After, not a guess


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_modelscope_commit_throttle_is_waited_out(sandbox, tmp_path, form):
    """A burst of E1021 (more than the 6 attempts of transient errors) on the destination's
    commits is waited out; each retry names the hub's ask and the worker's ceiling."""
    files = {"a.bin": b"a" * 70000, "b.txt": b"b"}
    repo = f"alice/throttled-{form}"
    ws.seed_hf(sandbox, tmp_path, repo, files)
    count = 8 if form == "seconds" else 3  # a date means backoff, which doubles: keep it short
    fault(
        sandbox,
        kind="commit_throttle",
        count=count,
        retry_after=1,
        retry_after_form=form,
        repo=repo,
    )
    run = ws.run_worker(
        sandbox, tmp_path, ws.make_job(("hf", repo, "model"), ("ms", repo, "model"))
    )
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    throttled = [e for e in run.of("retry") if e["op"] == "commit"]
    assert len(throttled) == count and all("E1021" in e["reason"] for e in throttled), throttled
    assert all(e["max_wait_s"] > 0 for e in throttled)
    if form == "seconds":
        assert all(e["retry_after_s"] == 1 and 1 <= e["wait_s"] <= 1.2 for e in throttled)
    else:
        # modelscope_hub's raise_for_status reads only a numeric Retry-After: a date reaches the
        # worker as "no declared wait", so it backs off (jittered) on its throttle budget.
        assert all("retry_after_s" not in e for e in throttled)
    assert ws.ms_contents(sandbox, tmp_path, repo) == files


def test_hf_rate_limit_with_an_http_date_beyond_the_sdk_retries(sandbox, tmp_path):
    """huggingface_hub retries a 429 itself (honouring only a numeric Retry-After, so a date
    means its own backoff); when its retries run out the worker reads the date from the
    response. (The seconds form: test_429_with_retry_after_is_honoured.)"""
    form = "date"
    files = {"c.bin": b"c" * 70000}
    repo = f"alice/rl-{form}"
    ws.seed_ms(sandbox, tmp_path, repo, files)
    fault(
        sandbox,
        kind="rate_limit",
        count=7,
        retry_after=1,
        retry_after_form=form,
        platform="hf",
        path=r"/api/models/alice/rl-[a-z]+/commit/",
    )
    run = ws.run_worker(
        sandbox, tmp_path, ws.make_job(("ms", repo, "model"), ("hf", repo, "model"))
    )
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    ours = [e for e in run.of("retry") if e["op"] == "commit" and "max_wait_s" in e]
    assert ours and all(e["status"] == 429 for e in ours), run.of("retry")
    assert all(0 <= e["retry_after_s"] <= 2 and e["wait_s"] >= e["retry_after_s"] for e in ours)
    assert ws.hf_contents(sandbox, tmp_path, repo) == files


def test_dropped_connection_is_resumed(sandbox, tmp_path):
    # huggingface_hub reads the body in 10 MiB chunks: a drop after 12 MiB leaves a partial file
    # it resumes with a Range request (the sandbox's request log shows the 206). Byte faults
    # bite the Hub's HTTP downloads, so this runs on the classic LFS path (Xet reads the CAS).
    files = {"big.bin": bytes(range(256)) * (16 * 4096)}  # 16 MiB
    ws.seed_hf(sandbox, tmp_path, "alice/drop", files)
    fault(sandbox, kind="drop", file="big.bin", after_bytes=12 * ws.MB, platform="hf")
    # Staged (stream=False): a streamed file cannot resume, its ModelScope PUT could not either.
    job = ws.make_job(("hf", "alice/drop", "model"), ("ms", "alice/drop", "model"), stream=False)
    run = ws.run_worker(sandbox, tmp_path, job, env=ws.XET_OFF)
    assert run.result["status"] == "ok" and run.result["verified"]
    assert any("resum" in e["reason"] and e["path"] == "big.bin" for e in run.of("retry")), (
        run.stdout
    )
    log = world.admin(sandbox, "/requests?platform=hf", method="GET")["requests"]
    # The bytes come from the CDN the Hub's `resolve` redirects to (route `bridge`).
    downloads = [r for r in log if r["method"] == "GET" and r.get("route") == "bridge"]
    assert [r["status"] for r in downloads[-2:]] == [200, 206]
    assert downloads[-1]["bytes_out"] < len(files["big.bin"])  # only the missing tail
    assert ws.ms_contents(sandbox, tmp_path, "alice/drop") == files


@pytest.mark.parametrize(
    "direction, size",
    [("hf", 1_255_000), ("hf", 11 * ws.MB), ("ms", 11 * ws.MB)],
    ids=["hf-small-hashed-first", "hf-large-hashed-while-uploading", "ms-checked-by-sdk"],
)
def test_corrupted_byte_is_detected_and_fetched_again(sandbox, tmp_path, direction, size):
    files = {"w.bin": (bytes(range(251)) * (size // 251 + 1))[:size], "note.txt": b"n"}
    other = "ms" if direction == "hf" else "hf"
    repo = f"alice/cor-{direction}-{size}"
    seed = ws.seed_hf if direction == "hf" else ws.seed_ms
    seed(sandbox, tmp_path, repo, files)
    fault(sandbox, kind="corrupt", file="w.bin", platform=direction)
    # The staged path (test_worker_streams.py covers a corrupt stream).
    job = ws.make_job((direction, repo, "model"), (other, repo, "model"), stream=False)
    # An HF download is corrupted on the classic LFS path only (Xet clients read the CAS).
    run = ws.run_worker(sandbox, tmp_path, job, env=ws.XET_OFF if direction == "hf" else None)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    retries = [e for e in run.of("retry") if e["path"] == "w.bin"]
    assert retries, run.stdout
    if direction == "hf" and size > 10 * ws.MB:
        # Caught by the verifying upload reader: the corrupt copy never completed an upload.
        assert any("staged copy" in e["reason"] for e in retries), retries
    read = ws.ms_contents if other == "ms" else ws.hf_contents
    assert read(sandbox, tmp_path, repo) == files


@pytest.mark.parametrize("count, outcome", [(2, "ok"), (6, "partial")], ids=["twice", "every-try"])
def test_git_lfs_object_corrupted_is_fetched_again(sandbox, tmp_path, count, outcome):
    """On the git path a corrupt LFS object is retried like an API download (git-lfs refuses it
    by its oid), up to the same six attempts; a file corrupt every time fails, the rest land."""
    files = {"w.bin": bytes([count]) * ws.MB, "note.txt": b"n"}  # an LFS object
    repo = f"alice/gitcor-{count}"
    ws.seed_hf(sandbox, tmp_path, repo, files)
    since = world.admin(sandbox, "/requests?platform=hf", method="GET")["requests"][-1]["seq"]
    fault(sandbox, kind="corrupt", file="w.bin", platform="hf", count=count)
    job = ws.make_job(("hf", repo, "model"), ("ms", repo, "model"), method="git")
    run = ws.run_worker(sandbox, tmp_path, job)
    retries = [e for e in run.of("retry") if e["path"] == "w.bin"]
    log = world.admin(sandbox, f"/requests?platform=hf&since={since}", method="GET")["requests"]
    pulls = [r for r in log if r["route"] == "lfs-object" and r["method"] == "GET"]
    assert run.result["status"] == outcome, run.stderr[-3000:]
    if outcome == "ok":
        assert run.result["verified"] and len(retries) == count, run.stdout
        assert ws.ms_contents(sandbox, tmp_path, repo) == files
    else:
        assert run.returncode != 0 and len(retries) == 5, run.stdout
        assert set(run.files("failed")) == {"w.bin"} and set(run.files("done")) == {"note.txt"}
        assert "expected OID" in run.files("failed")["w.bin"]["reason"]
    assert len([r for r in pulls if r["fault"] == "corrupt"]) == count


def test_tampered_destination_fails_verification(sandbox, tmp_path):
    files = ws.sample_files(13, lfs_mb=1)
    ws.seed_hf(sandbox, tmp_path, "alice/tamper", files)
    job = ws.make_job(("hf", "alice/tamper", "model"), ("ms", "alice/tamper", "model"))
    assert ws.run_worker(sandbox, tmp_path, job).result["verified"]
    ws.ms_api(sandbox).upload_file(
        "alice/tamper", "model", b'{"hidden_size": -1}', "config.json", disable_tqdm=True
    )

    check = ws.run_worker(sandbox, tmp_path, job, args=["--verify-only"])
    assert check.returncode == 1 and check.result["status"] == "failed"
    (verify,) = check.of("verify")
    assert not verify["ok"] and verify["mismatched"] == ["config.json"]
    assert verify["matched"] == len(files) - 1 and check.result["files_moved"] == 0

    repair = ws.run_worker(sandbox, tmp_path, job)
    assert repair.result["status"] == "ok" and set(repair.files("done")) == {"config.json"}


def test_staging_budget_is_never_exceeded(sandbox, tmp_path):
    files = {f"shard-{i}.safetensors": bytes([i]) * (3 * ws.MB + i) for i in range(5)}
    ws.seed_hf(sandbox, tmp_path, "alice/budget", files)
    budget = 7 * ws.MB
    job = ws.make_job(
        ("hf", "alice/budget", "model"),
        ("ms", "alice/budget", "model"),
        staging_budget_bytes=budget,
        download_workers=4,
        upload_workers=2,
        stream=False,  # the staging budget holds for staged files (streamed ones use none)
    )
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok" and run.result["verified"]
    reserved, measured, reported_budget = run.staging_peak()
    assert reported_budget == budget
    assert 0 < measured <= reserved <= budget
    assert reserved >= 3 * ws.MB  # at least one shard was staged at a time
