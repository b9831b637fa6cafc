"""Worker pieces that need no hub: job-file validation, license mapping, content comparison,
the staging budget, and the `retry` events read from the SDKs' own retry log records."""

from __future__ import annotations

import email.utils
import io
import json
import logging
import random
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "modal"))

from hubferry_worker import (  # noqa: E402
    events,
    job,
    job_driver,
    license,
    manifest,
    pipeline,
    retry,
    staging,
)

BASE_JOB = {
    "hubferry_job": 1,
    "job": "r0",
    "source": {"platform": "hf", "repo_id": "a/b", "repo_type": "model", "revision": "main"},
    "dest": {"platform": "ms", "repo_id": "a/b", "repo_type": "model", "revision": None},
    "files": None,
}


def test_job_defaults_and_revision_mapping():
    j = job.parse_job(BASE_JOB)
    assert j.dest.revision == "master" and j.source.revision == "main"
    assert j.method == "auto" and j.options.commit_max_files == 200 and j.options.verify
    assert (j.chunk_index, j.chunk_count) == (0, 1)


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"hubferry_job": 2}, "unsupported hubferry_job"),
        ({"token": "x"}, "unknown field"),
        ({"method": "rsync"}, "method"),
        ({"chunk": {"index": 3, "count": 2}}, "chunk index"),
        ({"options": {"download_workers": 0}}, "download_workers"),
        ({"options": {"verify": "yes"}}, "options.verify"),
        ({"files": [{"path": "a", "size": True}]}, "size"),
        ({"source": {"platform": "gh", "repo_id": "a/b"}}, "platform"),
        ({"dest": {"platform": "ms", "repo_id": "nons"}}, "namespace/name"),
    ],
)
def test_invalid_jobs_are_rejected_with_the_field_named(patch, words):
    with pytest.raises(job.JobError, match=words):
        job.parse_job({**BASE_JOB, **patch})


def test_job_file_cli_exit_code_2_on_bad_file(tmp_path):
    import subprocess

    bad = tmp_path / "job.json"
    bad.write_text(json.dumps({**BASE_JOB, "hubferry_job": 9}))
    proc = subprocess.run(
        [sys.executable, "-m", "hubferry_worker", "--job-file", str(bad)],
        env={"PYTHONPATH": str(ROOT / "modal"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "hubferry_job" in proc.stderr and proc.stdout == ""


def test_credentials_come_from_the_environment_only():
    c = job.Credentials.from_env({"MODELSCOPE_TOKEN": "ms-seed", "HF_TOKEN": "hf_x"})
    assert c.ms_token == "ms-seed" and c.hf_token == "hf_x"
    c = job.Credentials.from_env({"MODELSCOPE_API_TOKEN": "a", "MODELSCOPE_TOKEN": "b"})
    assert c.ms_token == "a"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("Apache License 2.0", "license: apache-2.0"),
        ("apache-2.0", None),
        ("MIT", "license: mit"),
        ("GPL-3.0", "license: gpl-3.0"),
        ("CC BY-NC 4.0", "license: cc-by-nc-4.0"),
        (
            "Tongyi Qianwen LICENSE AGREEMENT",
            "license: other\nlicense_name: tongyi-qianwen-agreement",
        ),
    ],
)
def test_readme_license_is_made_valid_for_hf(given, expected):
    text = f"---\nlanguage: zh\nlicense: {given}\ntags:\n- x\n---\n# Title\nlicense: untouched\n"
    new, note = license.fix_readme(text)
    if expected is None:
        assert new == text and note is None
        return
    assert note
    assert f"---\nlanguage: zh\n{expected}\ntags:\n- x\n---\n# Title\nlicense: untouched\n" == new


def test_readme_without_front_matter_is_untouched():
    assert license.fix_readme("# no front matter\nlicense: Apache License\n")[1] is None


def test_same_content_prefers_sha256_then_git_oid():
    a = manifest.Entry("x", 3, "aa", None)
    assert manifest.same_content(a, manifest.Entry("x", 3, "aa", "g")) is True
    assert manifest.same_content(a, manifest.Entry("x", 4, "aa", None)) is False
    assert manifest.same_content(a, manifest.Entry("x", 3, None, "g")) is None
    assert manifest.same_content(
        manifest.Entry("x", 3, None, "g"), manifest.Entry("x", 3, "z", "g")
    )


def test_hash_file_matches_git(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"hello\n")
    size, sha, oid = manifest.hash_file(p)
    assert size == 6 and oid == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert sha == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def test_platform_files():
    assert manifest.is_platform_file(".gitattributes") and not manifest.is_platform_file(
        "a/.gitattributes"
    )


def test_staging_never_exceeds_budget_under_contention():
    area = staging.Staging(100)
    inside = []
    lock = threading.Lock()

    def worker(n):
        area.reserve(n)
        with lock:
            inside.append(area.reserved)
        area.release(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (60, 50, 40, 30, 20, 10) * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert max(inside) <= 100 and area.peak_reserved <= 100 and area.reserved == 0
    area.reserve(150)  # larger than the whole budget: admitted alone
    assert area.oversized and area.peak_reserved == 150


def test_sdk_retry_log_records_become_retry_events():
    out = io.StringIO()
    em = events.Emitter("j", stream=out)
    observer = retry.SdkRetryObserver(em)
    hf_log = logging.getLogger("huggingface_hub.utils._http")
    ms_log = logging.getLogger("modelscope_hub.download")
    with observer.installed(), retry.Retrier.context("download", "w.bin"):
        hf_log.warning("HTTP Error 429 thrown while requesting GET http://x/resolve/main/w.bin")
        hf_log.warning("Rate limited. Waiting 3.0s before retry [Retry 1/5].")
        ms_log.warning("Download failed for %s (%s), retrying in %ss", "w.bin", "NetworkError", 2)
    got = [events.parse_line(x) for x in out.getvalue().splitlines()]
    assert [(e["status"], e["wait_s"], e["path"]) for e in got] == [
        (429, 3.0, "w.bin"),
        (None, 2.0, "w.bin"),
    ]
    assert got[1]["attempt"] == 2


def _http_error(status: int, headers: dict) -> Exception:
    class Resp:
        status_code = status

    Resp.headers = headers

    class Err(Exception):
        response = Resp()

    return Err(f"HTTP {status}")


def _flaky(errors: list):
    """A call that raises each of `errors` in turn, then answers "ok"."""
    pending = list(errors)

    def call():
        if pending:
            raise pending.pop(0)
        return "ok"

    return call


def test_retrier_honours_retry_after_as_a_floor_with_jitter_and_gives_up():
    out = io.StringIO()
    r = retry.Retrier(events.Emitter("j", stream=out), max_attempts=3)
    slept = []
    r.sleep = slept.append
    assert r.call("download", "f", _flaky([_http_error(429, {"Retry-After": "7"})] * 2)) == "ok"
    assert len(slept) == 2 and all(7.0 <= w <= 7.0 * (1 + retry.RETRY_AFTER_JITTER) for w in slept)
    evs = [events.parse_line(x) for x in out.getvalue().splitlines()]
    assert [(e["status"], e["retry_after_s"], e["attempt"]) for e in evs] == [
        (429, 7.0, 1),
        (429, 7.0, 2),
    ]
    assert [e["wait_s"] for e in evs] == [round(w, 3) for w in slept]
    assert all(e["max_wait_s"] == retry.MAX_WAIT_S for e in evs)
    with pytest.raises(ValueError):
        r.call("download", "f", lambda: (_ for _ in ()).throw(ValueError("not transient")))
    with pytest.raises(Exception, match="HTTP 503"):
        r.call("download", "f", _flaky([_http_error(503, {})] * 3))


def test_retry_after_as_an_http_date():
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert retry.parse_retry_after(date, now=now) == pytest.approx(42.0)
    assert retry.parse_retry_after(email.utils.formatdate(now - 5, usegmt=True), now=now) == 0.0
    assert retry.parse_retry_after("3") == 3.0
    assert retry.parse_retry_after("soon") is None
    failure = retry.classify(_http_error(429, {"Retry-After": email.utils.formatdate(usegmt=True)}))
    assert failure.throttled and failure.retry_after is not None and failure.retry_after <= 1.0


def test_backoff_is_jittered_so_parallel_workers_spread_out():
    """Ten workers failing together on a 503 choose ten different waits, each within the upper
    half of the exponential step."""
    failure = retry.classify(_http_error(503, {}))
    for attempt, step in ((1, 1.0), (3, 4.0), (9, retry.BACKOFF_MAX_S)):
        waits = [
            retry.Retrier(None, rng=random.Random(seed)).wait_for(attempt, failure)
            for seed in range(10)
        ]
        assert len(set(waits)) == 10 and all(step / 2 <= w <= step for w in waits)


def test_modelscope_commit_throttle_is_waited_out_on_its_own_budget():
    from modelscope_hub.errors import RateLimitError

    out = io.StringIO()
    r = retry.Retrier(events.Emitter("j", stream=out), max_attempts=2)
    slept = []
    r.sleep = slept.append
    burst = [RateLimitError("Commit frequency limit exceeded", retry_after=1)] * 12
    assert r.call("commit", None, _flaky(burst)) == "ok"
    evs = [events.parse_line(x) for x in out.getvalue().splitlines()]
    assert len(evs) == 12 and all("E1021" in e["reason"] for e in evs)
    assert all(1.0 <= w <= 1.2 for w in slept)
    # The hub asking for more than the ceiling fails at once, naming the wait it asked for.
    r.max_wait_s = 60.0
    with pytest.raises(retry.WaitTooLong, match="asks to wait 3600s"):
        r.call("commit", None, _flaky([RateLimitError("slow down", retry_after=3600)]))
    too_long = retry.classify(retry.WaitTooLong("the hub asks to wait 3600s"))
    assert not too_long.retryable and "3600s" in too_long.reason


def test_a_failed_container_reports_the_result_a_worker_would(capsys):
    """app.py's failed_result goes through the worker's own result helper: the same fields as a
    normal result, zero totals, a `seq`, and the error scrubbed of the tokens."""
    normal = job_driver.result_fields("ok", None, stats=pipeline.Stats(files_moved=2))
    assert normal["files_moved"] == 2
    event = job_driver.emit_failed_result(
        "r0c1", RuntimeError("boom hf_canary_123"), env={"HF_TOKEN": "hf_canary_123"}
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed == event
    events.validate(event)
    assert event["seq"] == 1 and event["job"] == "r0c1" and event["status"] == "failed"
    assert set(event) - set(events.COMMON) == set(normal)
    assert all(event[name] == 0 for name in job_driver.TOTALS)
    assert event["error"] == "container failed: RuntimeError: boom ***"
