"""Event protocol v1: the JSON lines the worker prints on stdout, and the one schema they follow.

`SCHEMA` is the machine-readable form of `docs/events.md`; `validate` checks an event against it and
`Emitter` is the only writer of event lines (thread-safe, `progress` throttled, secrets scrubbed).
The Rust parser is tested against the same fixture, `tests/fixtures/events_v1.ndjson`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

PROTOCOL = 1
PROGRESS_MIN_INTERVAL_S = 0.25  # at most 4 progress events per second

_NUM = (int, float)
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))


def _strs(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _endpoint(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("platform") in ("hf", "ms")
        and isinstance(value.get("repo_id"), str)
        and value.get("repo_type") in ("model", "dataset", "space")
        and isinstance(value.get("revision"), str)
    )


def _chunk(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("index"), int)
        and isinstance(value.get("count"), int)
        and 0 <= value["index"] < value["count"]
    )


def _one_of(*choices: str):
    return lambda value: value in choices


# Per type: field -> accepted Python type(s), or a predicate. Every field listed is required unless
# named in OPTIONAL. The emitter rejects unknown fields so that it never writes an undocumented one;
# a new field means a documented protocol change (parsers may still ignore unknown fields).
SCHEMA: dict[str, dict[str, Any]] = {
    "start": {
        "source": _endpoint,
        "dest": _endpoint,
        "method": _one_of("api", "git", "auto"),
        "chunk": _chunk,
        "files_total": int,
        "bytes_total": int,
    },
    "file": {
        "path": str,
        "size": int,
        "sha256": _OPT_STR,
        "status": _one_of("done", "skipped", "failed", "deleted"),
        "reason": str,
    },
    "progress": {
        "bytes_done": int,
        "bytes_total": int,
        "files_done": int,
        "files_total": int,
        "rate_bps": _NUM,
    },
    "retry": {
        "op": str,
        "path": _OPT_STR,
        "attempt": int,
        "wait_s": _NUM,
        "reason": str,
        "status": _OPT_INT,
        "retry_after_s": _NUM,
        "max_wait_s": _NUM,
    },
    "fallback": {"from": _one_of("api"), "to": _one_of("git"), "reason": str},
    "warning": {"code": str, "message": str},
    "commit": {"files": int, "oid": _OPT_STR, "message": str},
    "verify": {
        "ok": bool,
        "matched": int,
        "mismatched": _strs,
        "missing": _strs,
        "extra": _strs,
    },
    "result": {
        "status": _one_of("ok", "failed", "partial"),
        "files_moved": int,
        "bytes_moved": int,
        "files_skipped": int,
        "bytes_skipped": int,
        "files_failed": int,
        "files_deleted": int,
        "duration_s": _NUM,
        "dest_url": _OPT_STR,
        "verified": bool,
        "fallback_used": bool,
        "error": _OPT_STR,
    },
}
OPTIONAL: dict[str, set[str]] = {"file": {"reason"}, "retry": {"retry_after_s", "max_wait_s"}}
COMMON = ("hubferry", "type", "job", "ts", "seq")


class EventError(ValueError):
    """An event that does not follow protocol v1."""


def _check(type_: str, name: str, rule: Any, value: Any) -> None:
    if isinstance(rule, (type, tuple)):
        types = rule if isinstance(rule, tuple) else (rule,)
        # bool is an int subclass in Python; a count must never be a bool.
        ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    else:
        ok = bool(rule(value))
    if not ok:
        raise EventError(f"{type_} event: field {name!r} has an invalid value {value!r}")


def validate(event: Any) -> dict:
    """Raises EventError unless `event` is a valid protocol v1 event; returns it."""
    if not isinstance(event, dict):
        raise EventError(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("hubferry") != PROTOCOL:
        raise EventError(f"event has hubferry={event.get('hubferry')!r}, expected {PROTOCOL}")
    type_ = event.get("type")
    if type_ not in SCHEMA:
        raise EventError(f"unknown event type {type_!r}")
    if not isinstance(event.get("job"), str) or not event["job"]:
        raise EventError(f"{type_} event: 'job' must be a non-empty string")
    ts = event.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, _NUM):
        raise EventError(f"{type_} event: 'ts' must be unix seconds")
    # `seq` (1, 2, … per worker process) is optional in the schema: lines from before it existed
    # still parse. The emitter always writes it.
    seq = event.get("seq", 1)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise EventError(f"{type_} event: 'seq' must be a positive integer")
    fields = SCHEMA[type_]
    optional = OPTIONAL.get(type_, set())
    for name, rule in fields.items():
        if name not in event:
            if name in optional:
                continue
            raise EventError(f"{type_} event: missing field {name!r}")
        _check(type_, name, rule, event[name])
    extra = set(event) - set(fields) - set(COMMON)
    if extra:
        raise EventError(f"{type_} event: unknown fields {sorted(extra)}")
    return event


def parse_line(line: str) -> dict | None:
    """Returns the event on a stdout line, or None for log text (anything not a JSON object
    carrying `"hubferry"`). A line that claims to be an event but is invalid raises EventError."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "hubferry" not in obj:
        return None
    return validate(obj)


class Emitter:
    """Writes validated events for one job, one line each, to a stream (stdout by default).

    Thread-safe: pool threads emit concurrently. `progress` calls closer together than
    PROGRESS_MIN_INTERVAL_S are dropped; `force=True` (the final figures) waits out the interval
    instead, so the rate limit holds for every progress line.
    Every line carries `seq`, 1 for the first line this emitter writes and one more for each next
    one (dropped progress calls take none), so a reader that sees the same lines twice (a log
    history read and a live follow that overlap) can drop the repeats.
    Every string in an event passes through `scrub`, so a token that leaks into an exception
    message never reaches the stream.
    """

    def __init__(self, job: str, stream: TextIO | None = None, secrets: Iterable[str] = ()):
        self.job = job
        self._stream = stream
        self._lock = threading.Lock()
        self._last_progress = 0.0
        self._seq = 0
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self._scrub_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._scrub_value(v) for k, v in value.items()}
        return value

    def emit(self, type_: str, **fields: Any) -> dict | None:
        force = fields.pop("force", False)
        with self._lock:
            now = time.time()
            if type_ == "progress":
                wait = self._last_progress + PROGRESS_MIN_INTERVAL_S - now
                if wait > 0:
                    if not force:
                        return None
                    time.sleep(wait)
                    now = time.time()
                self._last_progress = now
            event = {
                "hubferry": PROTOCOL,
                "type": type_,
                "job": self.job,
                "ts": round(now, 3),
                "seq": self._seq + 1,
            }
            event.update(self._scrub_value(fields))
            validate(event)
            self._seq += 1
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            stream = self._stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()
        return event

    def log(self, message: str) -> None:
        """Human log text: goes to stderr so stdout stays mostly events (scrubbed too)."""
        with self._lock:
            sys.stderr.write("hubferry worker: " + self.scrub(message).rstrip("\n") + "\n")
            sys.stderr.flush()
