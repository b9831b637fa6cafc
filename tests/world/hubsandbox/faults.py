"""Fault injection shared by both hubs, switched at run time through the admin endpoint.

A fault is a JSON spec (see docs/sandbox.md). Kinds and where they bite:
  storage_lock  {repo, platform="hf", repo_type?, message?}      API file downloads of that repo
                answer 403 + X-Error-Message (git access is untouched); stays until removed.
  rate_limit    {count=1, retry_after=1, retry_after_form="seconds", platform?, path?, method?,
                message?}  next K matching requests: 429 with `Retry-After` as delta-seconds, or
                (retry_after_form "date") as the HTTP date that many seconds from now
  commit_throttle {count=1, retry_after=1, retry_after_form="seconds", repo?}  ModelScope's
                commit-frequency limit: the next K commits (of `repo`, or any) answer 429
                "E1021 Commit frequency limit exceeded" with Retry-After; nothing is committed
  server_error  {count=1, status=500, platform?, path?, method?}     next K matching requests: 5xx
  drop          {file, after_bytes=0, count=1, repo?, platform?}  close the connection after N body
                bytes of a matching file download (HTTP, or a Xet term fetch: xet_proxy.py)
  corrupt       {file, offset?, count=1, repo?, platform?}  flip one byte (at file offset `offset`,
                default the middle of the served range; in a Xet term's body, its offset there)
                of a matching file download
  latency       {ms, count?, platform?, path?, method?}   sleep before handling matching requests
  drop_upload   {after_bytes=0, count=1, repo?, oid?}  ModelScope blob PUT: close the connection
                after N body bytes; nothing is stored (the hub has no resume inside a blob, so
                the client must PUT the whole blob again)

`path` is a regular expression searched in the decoded request path; `file` is an fnmatch glob on
the repo-relative file path; `repo` is an exact repo id. `count` omitted/null means "until removed"
for latency and storage_lock; for the others it defaults to 1. Used-up faults disappear
from GET /faults; the request log's `fault` field shows where each one bit.
"""

from __future__ import annotations

import email.utils
import fnmatch
import itertools
import re
import threading
import time

KINDS = (
    "storage_lock",
    "rate_limit",
    "commit_throttle",
    "server_error",
    "drop",
    "corrupt",
    "latency",
    "drop_upload",
)
RATE_LIMIT_MESSAGE = "You have been rate-limited; retry later."
# The wording modelscope.cn answers a too-frequent commit with (modelscope issue #1793).
COMMIT_THROTTLE_MESSAGE = "E1021 Commit frequency limit exceeded, please retry later"
RETRY_AFTER_FORMS = ("seconds", "date")
DEFAULT_LOCK_MESSAGE = (
    "This repository's storage is locked: API downloads are disabled for it. "
    "Use git clone instead, or contact support."
)


class FaultSpecError(ValueError):
    pass


def _retry_after(wait: int, form: str) -> str:
    """`Retry-After` in either RFC 9110 form. The date form has whole seconds, so it names the
    first whole second at least `wait` seconds away."""
    if form == "date":
        return email.utils.formatdate(int(time.time()) + wait + 1, usegmt=True)
    return str(wait)


class FaultSet:
    """The active faults; every method is thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[dict] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict) -> dict:
        fault = self._validate(dict(spec))
        with self._lock:
            fault["id"] = next(self._ids)
            fault["fired"] = 0
            self._faults.append(fault)
            return dict(fault)

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f["id"] != fault_id]
            return before - len(self._faults)

    @staticmethod
    def _validate(f: dict) -> dict:
        kind = f.get("kind")
        if kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if f.get("platform") not in (None, "hf", "ms"):
            raise FaultSpecError("platform must be 'hf' or 'ms'")
        if kind == "storage_lock":
            if not f.get("repo"):
                raise FaultSpecError("storage_lock needs 'repo'")
            f.setdefault("platform", "hf")
            f.setdefault("message", DEFAULT_LOCK_MESSAGE)
        elif kind in ("drop", "corrupt"):
            if not f.get("file"):
                raise FaultSpecError(f"{kind} needs 'file' (a glob on the repo path)")
            f.setdefault("count", 1)
            if kind == "drop":
                f["after_bytes"] = int(f.get("after_bytes", 0))
        elif kind in ("rate_limit", "commit_throttle"):
            f.setdefault("count", 1)
            f["retry_after"] = int(f.get("retry_after", 1))
            f.setdefault("retry_after_form", "seconds")
            if f["retry_after_form"] not in RETRY_AFTER_FORMS:
                raise FaultSpecError("retry_after_form must be 'seconds' or 'date'")
            if kind == "commit_throttle":
                if f.get("platform") not in (None, "ms"):
                    raise FaultSpecError("commit_throttle is ModelScope's (platform 'ms')")
                f.update(platform="ms", method="POST")
                repo = re.escape(f["repo"]) if f.get("repo") else "[^/]+/[^/]+"
                f["path"] = rf"^/api/v1/repos/(models|datasets)/{repo}/commit/"
                f.setdefault("message", COMMIT_THROTTLE_MESSAGE)
            f.setdefault("message", RATE_LIMIT_MESSAGE)
        elif kind == "server_error":
            f.setdefault("count", 1)
            f["status"] = int(f.get("status", 500))
            if not 500 <= f["status"] <= 599:
                raise FaultSpecError("server_error status must be 5xx")
        elif kind == "drop_upload":
            if f.get("platform") not in (None, "ms"):
                raise FaultSpecError("drop_upload is ModelScope's blob PUT (platform 'ms')")
            f["platform"] = "ms"
            f.setdefault("count", 1)
            f["after_bytes"] = int(f.get("after_bytes", 0))
        elif kind == "latency":
            f["ms"] = float(f.get("ms", 0))
        if f.get("path"):
            try:
                re.compile(f["path"])
            except re.error as e:
                raise FaultSpecError(f"bad 'path' regex: {e}") from None
        return f

    @staticmethod
    def _matches_request(f: dict, platform: str, method: str, path: str) -> bool:
        return (
            f.get("platform") in (None, platform)
            and f.get("method") in (None, method)
            and (not f.get("path") or re.search(f["path"], path) is not None)
        )

    def _prune(self) -> None:
        """Drops used-up faults (their effect stays visible in the request log's `fault`)."""
        self._faults = [f for f in self._faults if f.get("count") is None or f["count"] > 0]

    @staticmethod
    def _use(f: dict) -> bool:
        """Consumes one use of a counted fault; False when it is used up."""
        if f.get("count") is None:
            f["fired"] += 1
            return True
        if f["count"] <= 0:
            return False
        f["count"] -= 1
        f["fired"] += 1
        return True

    def on_request(self, platform: str, method: str, path: str):
        """Returns (delay_seconds, error or None); error = (status, headers, message)."""
        delay = 0.0
        error = None
        with self._lock:
            for f in self._faults:
                if f["kind"] == "latency" and self._matches_request(f, platform, method, path):
                    if self._use(f):
                        delay += f["ms"] / 1000.0
            for f in self._faults:
                if error is not None:
                    break
                if f["kind"] not in ("rate_limit", "commit_throttle", "server_error"):
                    continue
                if self._matches_request(f, platform, method, path) and self._use(f):
                    if f["kind"] in ("rate_limit", "commit_throttle"):
                        wait = f["retry_after"]
                        headers = {
                            "Retry-After": _retry_after(wait, f["retry_after_form"]),
                            "RateLimit": f'"api";r=0;t={wait}',
                            "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
                        }
                        error = (429, headers, f["message"])
                    else:
                        error = (f["status"], {}, "Internal Error - injected by the hub sandbox.")
            self._prune()
        return delay, error

    def storage_lock(self, platform: str, repo_type: str, repo_id: str) -> str | None:
        """The lock message when API downloads of this repo are locked, else None."""
        with self._lock:
            for f in self._faults:
                if (
                    f["kind"] == "storage_lock"
                    and f["platform"] == platform
                    and f["repo"] == repo_id
                    and f.get("repo_type") in (None, repo_type)
                ):
                    if self._use(f):
                        self._prune()
                        return f["message"]
        return None

    def download_plan(self, platform: str, repo_id: str, path: str, start: int, end: int):
        """For a download of bytes [start, end) of a file: (drop_after_n_body_bytes, corrupt_at).

        corrupt_at is the file offset of the byte to flip; both are None when nothing applies.
        """
        drop_after = corrupt_at = None
        with self._lock:
            for f in self._faults:
                if f["kind"] not in ("drop", "corrupt"):
                    continue
                if f.get("platform") not in (None, platform):
                    continue
                if f.get("repo") not in (None, repo_id):
                    continue
                if not fnmatch.fnmatchcase(path, f["file"]):
                    continue
                if f["kind"] == "drop" and drop_after is None:
                    if f["after_bytes"] < end - start and self._use(f):
                        drop_after = f["after_bytes"]
                elif f["kind"] == "corrupt" and corrupt_at is None and end > start:
                    at = f.get("offset")
                    at = (start + end) // 2 if at is None else int(at)
                    if start <= at < end and self._use(f):
                        corrupt_at = at
            self._prune()
        return drop_after, corrupt_at

    def upload_plan(self, platform: str, repo_id: str, oid: str, size: int) -> int | None:
        """For a blob PUT of `size` bytes: after how many body bytes to drop it, or None."""
        with self._lock:
            for f in self._faults:
                if f["kind"] != "drop_upload" or f["platform"] != platform:
                    continue
                if f.get("repo") not in (None, repo_id) or f.get("oid") not in (None, oid):
                    continue
                if f["after_bytes"] < size and self._use(f):
                    self._prune()
                    return f["after_bytes"]
        return None
