"""Bandwidth shaping: one token bucket per hub per direction, shared by all its connections.

`--hf-bandwidth 50` means 50 * 10^6 payload bytes/s down and, separately, 50 * 10^6 up. The bucket
keeps a virtual clock of when the link is next free; each consumer reserves its bytes and sleeps
until its reservation ends, so the long-run rate is exact however many threads share the link.
"""

from __future__ import annotations

import threading
import time

# Idle links may send this much ahead (seconds of credit); keeps short requests snappy.
BURST_SECONDS = 0.05


class TokenBucket:
    def __init__(self, mb_per_s: float | None):
        self.rate = mb_per_s * 1e6 if mb_per_s else None
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    @property
    def limited(self) -> bool:
        return self.rate is not None

    def consume(self, nbytes: int) -> None:
        if self.rate is None or nbytes <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(self._free_at, now - BURST_SECONDS)
            self._free_at = start + nbytes / self.rate
            wait = self._free_at - now
        if wait > 0:
            time.sleep(wait)


class Link:
    """Both directions of one hub's link (as seen from the hub: `down` = served to clients)."""

    def __init__(self, mb_per_s: float | None):
        self.down = TokenBucket(mb_per_s)
        self.up = TokenBucket(mb_per_s)

    @property
    def chunk_size(self) -> int:
        # Small chunks when shaped so many connections interleave smoothly.
        return 64 * 1024 if self.down.limited else 1024 * 1024
