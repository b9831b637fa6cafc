"""Contract test: every event line of the shared fixture validates against the emitter's schema,
the fixture covers every event type, and the emitter itself only writes valid, scrubbed lines."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "modal"))

from hubferry_worker import events  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "events_v1.ndjson"


def fixture_lines() -> list[str]:
    return FIXTURE.read_text(encoding="utf-8").splitlines()


def test_every_fixture_event_validates_and_every_type_is_covered():
    seen = set()
    logs = 0
    for line in fixture_lines():
        event = events.parse_line(line)
        if event is None:
            logs += 1
            continue
        seen.add(event["type"])
    assert seen == set(events.SCHEMA), f"fixture lacks {set(events.SCHEMA) - seen}"
    assert logs >= 1, "fixture must carry at least one non-JSON log line"


def test_seq_is_optional_in_the_schema_and_exercised_both_ways():
    parsed = [e for e in map(events.parse_line, fixture_lines()) if e]
    assert any("seq" in e for e in parsed) and any("seq" not in e for e in parsed)


def test_emitter_numbers_every_line_it_writes_and_no_dropped_one():
    out = io.StringIO()
    em = events.Emitter("j1", stream=out)
    em.emit("warning", code="x", message="one")
    for i in range(20):
        em.emit("progress", bytes_done=i, bytes_total=20, files_done=0, files_total=1, rate_bps=0.0)
    with pytest.raises(events.EventError):
        em.emit("file", path="a", size=1, sha256=None, status="moved")
    em.emit("warning", code="x", message="two")
    parsed = [events.parse_line(line) for line in out.getvalue().splitlines()]
    assert [e["seq"] for e in parsed] == list(range(1, len(parsed) + 1))
    assert len(parsed) == 3  # one progress line got through the throttle; the bad file none


def test_every_optional_field_is_exercised_both_ways():
    parsed = [e for e in map(events.parse_line, fixture_lines()) if e]
    for type_, names in events.OPTIONAL.items():
        of_type = [e for e in parsed if e["type"] == type_]
        for name in names:
            assert any(name in e for e in of_type), f"no {type_} event carries {name}"
            assert any(name not in e for e in of_type), f"every {type_} event carries {name}"
    file_events = [e for e in parsed if e["type"] == "file"]
    assert {e["status"] for e in file_events} == {"done", "skipped", "failed", "deleted"}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("job"),
        lambda e: e.update(hubferry=2),
        lambda e: e.update(type="bogus"),
        lambda e: e.update(ts="now"),
        lambda e: e.update(unexpected_field=1),
        lambda e: e.update(seq=0),
        lambda e: e.update(seq="1"),
        lambda e: e.update(seq=True),
    ],
)
def test_invalid_events_are_rejected(mutate):
    event = json.loads(fixture_lines()[0])
    mutate(event)
    with pytest.raises(events.EventError):
        events.validate(event)


def test_type_specific_violations_are_rejected():
    result = next(json.loads(x) for x in fixture_lines() if '"type":"result"' in x)
    for bad in ({"status": "done"}, {"files_moved": True}, {"verified": 1}, {"duration_s": None}):
        with pytest.raises(events.EventError):
            events.validate({**result, **bad})
    missing = dict(result)
    missing.pop("dest_url")
    with pytest.raises(events.EventError):
        events.validate(missing)


def test_emitter_writes_valid_lines_scrubs_secrets_and_throttles_progress():
    out = io.StringIO()
    canary = "hf_canaryTOKEN000000000000000000"
    em = events.Emitter("j1", stream=out, secrets=[canary])
    em.emit("warning", code="x", message=f"failed with token {canary} in url")
    kept = [
        em.emit("progress", bytes_done=i, bytes_total=10, files_done=0, files_total=1, rate_bps=0.0)
        for i in range(50)
    ]
    assert sum(k is not None for k in kept) == 1  # 50 calls within far less than 0.25 s
    em.emit(
        "progress",
        bytes_done=10,
        bytes_total=10,
        files_done=1,
        files_total=1,
        rate_bps=1.0,
        force=True,
    )
    lines = out.getvalue().splitlines()
    assert canary not in out.getvalue()
    parsed = [events.parse_line(x) for x in lines]
    assert all(p is not None for p in parsed)
    progress_ts = [p["ts"] for p in parsed if p["type"] == "progress"]
    assert len(progress_ts) == 2 and progress_ts[1] - progress_ts[0] >= 0.24
    with pytest.raises(events.EventError):
        em.emit("file", path="a", size=1, sha256=None, status="moved")


JOB_FIXTURE = ROOT / "tests" / "fixtures" / "job_v1.json"


def test_the_job_fixture_parses_to_exactly_its_files_and_deletes():
    # The Rust side (src/plan/job.rs) asserts it renders this very file for a --delete plan.
    from hubferry_worker.job import parse_job

    job = parse_job(json.loads(JOB_FIXTURE.read_text(encoding="utf-8")))
    assert [f.path for f in job.files] == ["a.bin", "b.txt", "c.bin", "d.txt"]
    assert job.options.delete_paths == ["old.txt"]


@pytest.mark.parametrize(
    "retired", [{"include": ["*.bin"]}, {"exclude": ["*.tmp"]}, {"delete": True}]
)
def test_the_worker_refuses_the_retired_selection_options(retired):
    from hubferry_worker.job import JobError, parse_job

    raw = json.loads(JOB_FIXTURE.read_text(encoding="utf-8"))
    raw["options"].update(retired)
    with pytest.raises(JobError, match="unknown field"):
        parse_job(raw)
