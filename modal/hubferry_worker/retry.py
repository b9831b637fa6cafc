"""Retries around hub calls, and `retry` events for every retry — ours and the SDKs' own.

`Retrier.call` retries 429/5xx/connection errors. Every wait carries jitter, so that the many
containers of one run, throttled together, do not come back together: exponential backoff draws
from [½, 1] of its step, and a server's `Retry-After` (seconds or an HTTP date) is the floor and
gets up to RETRY_AFTER_JITTER of it on top. ModelScope's commit throttle (`E1021`) is waited out on
its own budget (THROTTLE_MAX_ATTEMPTS), as the SDK does, since its wait is declared, not guessed.
No single wait exceeds MAX_WAIT_S: a server asking for longer fails the call at once (with the
ask in the error) rather than holding a container for it. The `retry` event names the server's ask
(`retry_after_s`) and the ceiling (`max_wait_s`) next to the wait chosen (`wait_s`).

The official clients also retry inside a call (huggingface_hub's http_backoff and resumable
http_get, modelscope_hub's download loop); they only say so in log records. `SdkRetryObserver`
turns those records into `retry` events, attributed to the file the calling thread works on
(`Retrier.context`), so every wait the run spends shows up in the event stream.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from .events import Emitter
from .manifest import ContentMismatch

T = TypeVar("T")
MAX_ATTEMPTS = 6
# Throttled calls (429 with a declared wait, ModelScope E1021) are retried on their own budget: a
# burst of throttles is the hub pacing us, not the call failing.
THROTTLE_MAX_ATTEMPTS = 30
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
# The longest single wait; the SDK itself honours commit Retry-After up to 1800 s.
MAX_WAIT_S = 1800.0
RETRY_AFTER_JITTER = 0.2
INTEGRITY_WAIT_MAX_S = 0.5
THROTTLE_CODE = "E1021"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

_local = threading.local()


@dataclass
class Failure:
    """What a caught exception means for retrying."""

    retryable: bool
    status: int | None
    retry_after: float | None
    reason: str
    throttled: bool = False  # the hub paces us (429 / E1021): retried on THROTTLE_MAX_ATTEMPTS
    # Bytes arrived wrong (hash mismatch, an LFS object refused by its oid): the hub is not
    # overloaded, so the next attempt goes after a short jittered pause, not a growing backoff.
    integrity: bool = False


HashMismatch = ContentMismatch  # a downloaded file did not match the source manifest


def _status_and_headers(exc: BaseException) -> tuple[int | None, Any]:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    if status is None:
        status = getattr(exc, "status_code", None)
    headers = getattr(response, "headers", None) if response is not None else None
    return status, headers


def parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(0.0, float(value))
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return out


def classify(exc: BaseException) -> Failure:
    """Decides whether an exception from either SDK (or git) is worth another attempt.

    huggingface_hub wraps a failed metadata call of `hf_hub_download` (403, 429, 5xx, network)
    in LocalEntryNotFoundError/ValueError; the HTTP answer is on the cause, so the whole chain
    is searched for the first exception that carries a status."""
    if isinstance(exc, WaitTooLong):
        return Failure(False, None, None, str(exc))
    chain = _chain(exc)
    for link in chain:
        if _status_and_headers(link)[0] is not None:
            return _classify_one(link)
    for link in chain[1:]:
        failure = _classify_one(link)
        if failure.retryable:
            return failure
    return _classify_one(exc)


def _classify_one(exc: BaseException) -> Failure:
    if isinstance(exc, HashMismatch) or getattr(exc, "integrity", False) is True:
        return Failure(True, None, None, str(exc)[:300], integrity=True)
    status, headers = _status_and_headers(exc)
    retry_after = parse_retry_after(getattr(exc, "retry_after", None))
    if retry_after is None and headers is not None:
        retry_after = parse_retry_after(headers.get("Retry-After"))
    # modelscope_hub raises RateLimitError (error_code E1021) for every 429, commits included.
    ms_throttle = getattr(exc, "error_code", None) == THROTTLE_CODE
    if status is not None or ms_throttle:
        reason = f"HTTP {status}" if status is not None else "HTTP 429"
        if ms_throttle:
            reason += f" {THROTTLE_CODE} (ModelScope rate limit)"
        if retry_after is not None:
            reason += f" (Retry-After: {retry_after:g}s)"
        throttled = ms_throttle or status == 429
        retryable = throttled or status in RETRYABLE_STATUS
        return Failure(retryable, status, retry_after, reason, throttled)
    name = type(exc).__name__
    transient = (
        isinstance(exc, (ConnectionError, TimeoutError))
        or getattr(exc, "retryable", False) is True
        or any(k in name for k in ("Connect", "Timeout", "RemoteProtocol", "ReadError", "Network"))
    )
    return Failure(transient, None, retry_after, f"{name}: {exc}"[:300])


class WaitTooLong(RuntimeError):
    """The hub declared a wait above the ceiling: the call fails now instead of waiting."""


class Retrier:
    """Runs hub calls with retries and reports each retry as an event."""

    def __init__(
        self,
        emitter: Emitter,
        max_attempts: int = MAX_ATTEMPTS,
        max_wait_s: float = MAX_WAIT_S,
        rng: random.Random | None = None,
    ):
        self.emitter = emitter
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.sleep = time.sleep
        self._rng = rng or random.Random()

    @staticmethod
    @contextlib.contextmanager
    def context(op: str, path: str | None) -> Iterator[None]:
        """Names the operation the current thread performs, for SDK-internal retry events."""
        previous = getattr(_local, "ctx", None)
        _local.ctx = (op, path)
        try:
            yield
        finally:
            _local.ctx = previous

    def wait_for(self, attempt: int, failure: Failure) -> float:
        """The wait before retry number `attempt`, jittered; never above max_wait_s. A declared
        Retry-After is a floor (retrying earlier only earns another 429)."""
        if failure.integrity:
            return self._rng.uniform(0.0, INTEGRITY_WAIT_MAX_S)
        if failure.retry_after is not None:
            extra = self._rng.uniform(0.0, RETRY_AFTER_JITTER * max(failure.retry_after, 1.0))
            return min(failure.retry_after + extra, self.max_wait_s)
        step = min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S)
        return min(self._rng.uniform(step / 2, step), self.max_wait_s)

    def call(
        self,
        op: str,
        path: str | None,
        fn: Callable[[], T],
        on_retry: Callable[[BaseException], None] | None = None,
        retry_if: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Calls fn until it succeeds, a non-retryable error occurs, or attempts run out."""
        attempt = failures = throttles = 0
        while True:
            try:
                with self.context(op, path):
                    return fn()
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised when final
                failure = classify(exc)
                attempt += 1
                if retry_if is not None and not retry_if(exc):
                    raise
                if not failure.retryable:
                    raise
                if failure.throttled:
                    throttles += 1
                    if throttles >= THROTTLE_MAX_ATTEMPTS:
                        raise
                else:
                    failures += 1
                    if failures >= self.max_attempts:
                        raise
                if failure.retry_after is not None and failure.retry_after > self.max_wait_s:
                    raise WaitTooLong(
                        f"{failure.reason}: the hub asks to wait {failure.retry_after:.0f}s,"
                        f" above the worker's {self.max_wait_s:.0f}s ceiling"
                    ) from exc
                wait = self.wait_for(throttles if failure.throttled else failures, failure)
                asked = {}
                if failure.retry_after is not None:
                    asked["retry_after_s"] = round(failure.retry_after, 3)
                self.emitter.emit(
                    "retry",
                    op=op,
                    path=path,
                    attempt=attempt,
                    wait_s=round(wait, 3),
                    reason=failure.reason,
                    status=failure.status,
                    max_wait_s=self.max_wait_s,
                    **asked,
                )
                if on_retry is not None:
                    on_retry(exc)
                self.sleep(wait)


# Messages of huggingface_hub/utils/_http.py, file_download.py and modelscope_hub/_download.py.
_HF_HTTP_ERROR = re.compile(r"HTTP Error (\d{3}) thrown while requesting (\w+)")
_HF_WAIT = re.compile(r"(?:Waiting|Retrying in) ([\d.]+)s")
_HF_RESUME = re.compile(r"Error while downloading from .*Trying to resume download", re.S)
_MS_RETRY = re.compile(r"Download (?:failed|recovery) for (.+) \((\w+)\), retrying in ([\d.]+)s")
_MS_INTEGRITY = re.compile(r"(Hash|Size) validation failed for (.+), retrying in ([\d.]+)s")


class SdkRetryObserver(logging.Handler):
    """Logging handler on the SDK loggers that re-emits their internal retries as `retry` events."""

    def __init__(self, emitter: Emitter):
        super().__init__(level=logging.WARNING)
        self.emitter = emitter
        self._pending_status = threading.local()
        self._attempts: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def _next_attempt(self, key: tuple) -> int:
        with self._lock:
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D401 - logging API
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record must never break a transfer
            return
        op, path = getattr(_local, "ctx", None) or ("request", None)
        if m := _HF_HTTP_ERROR.search(message):
            self._pending_status.value = int(m.group(1))
            return
        if m := _HF_WAIT.search(message):
            status = getattr(self._pending_status, "value", None)
            self._pending_status.value = None
            reason = f"HTTP {status}" if status else "transient error"
            if "Rate limited" in message:
                reason += " (rate limited; honouring Retry-After)"
            self._report(op, path, float(m.group(1)), reason + " [inside the SDK]", status)
        elif _HF_RESUME.search(message):
            reason = "connection dropped; resuming with Range [inside the SDK]"
            self._report(op, path, 0.0, reason, None)
        elif m := _MS_INTEGRITY.search(message):
            reason = f"{m.group(1).lower()} mismatch; fetching again [inside the SDK]"
            self._report(op, path or m.group(2), float(m.group(3)), reason, None)
        elif m := _MS_RETRY.search(message):
            reason = f"{m.group(2)} [inside the SDK]"
            self._report(op, path or m.group(1), float(m.group(3)), reason, None)

    def _report(self, op: str, path: str | None, wait: float, reason: str, status: int | None):
        attempt = self._next_attempt((op, path))
        self.emitter.emit(
            "retry", op=op, path=path, attempt=attempt, wait_s=wait, reason=reason, status=status
        )

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loggers = [logging.getLogger("huggingface_hub"), logging.getLogger("modelscope_hub")]
        saved = [(lg, lg.level) for lg in loggers]
        for lg in loggers:
            lg.addHandler(self)
            if lg.getEffectiveLevel() > logging.WARNING:
                lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in saved:
                lg.removeHandler(self)
                lg.setLevel(level)
