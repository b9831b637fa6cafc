"""Bandwidth shaping: per hub and direction, a token bucket shared by all connections (the link's
total) and, optionally, one per TCP connection (the cap a real hub puts on a single stream).

`--hf-bandwidth 50` means 50 * 10^6 payload bytes/s down and, separately, 50 * 10^6 up, across
all connections. `--hf-conn-bandwidth 5` also caps every single connection at 5 * 10^6 bytes/s
each way (the seed's published runs: about 4-5 MB/s per stream to ModelScope while many streams
together reached 458 MB/s). Each bucket keeps a virtual clock of when it is next free; a consumer
reserves its bytes in every bucket that applies and sleeps until the latest reservation ends, so
long-run rates are exact however many threads share a link.

A connection is a handler thread: the sandbox's servers (`ThreadingHTTPServer`) run each accepted
TCP connection, with all its keep-alive requests, in a thread of its own. `Link.connections()`
is the per-connection accounting the admin endpoint serves (`GET /connections`).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time

# Idle links may send this much ahead (seconds of credit); keeps short requests snappy.
BURST_SECONDS = 0.05
# Per-connection records kept for inspection (oldest dropped first).
CONNECTIONS_KEPT = 2000


class TokenBucket:
    def __init__(self, mb_per_s: float | None):
        self.rate = mb_per_s * 1e6 if mb_per_s else None
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    @property
    def limited(self) -> bool:
        return self.rate is not None

    def reserve(self, nbytes: int, now: float) -> float:
        """Books `nbytes` on this bucket; returns the monotonic time the booking ends."""
        with self._lock:
            start = max(self._free_at, now - BURST_SECONDS)
            self._free_at = start + nbytes / self.rate
            return self._free_at

    def consume(self, nbytes: int) -> None:
        if self.rate is None or nbytes <= 0:
            return
        now = time.monotonic()
        wait = self.reserve(nbytes, now) - now
        if wait > 0:
            time.sleep(wait)


class _Connection:
    """One TCP connection's buckets and counters (only its own thread writes them)."""

    def __init__(self, conn_id: int, down_mb: float | None, up_mb: float | None):
        self.conn_id = conn_id
        self.thread = threading.current_thread().name
        self.buckets = {"down": TokenBucket(down_mb), "up": TokenBucket(up_mb)}
        self.bytes = {"down": 0, "up": 0}
        # Seconds each kind of bucket held this connection back, by direction.
        self.waited = {
            "down": {"connection": 0.0, "total": 0.0},
            "up": {"connection": 0.0, "total": 0.0},
        }
        self.first = {"down": None, "up": None}
        self.last = {"down": None, "up": None}

    def record(self) -> dict:
        out = {"id": self.conn_id, "thread": self.thread}
        for d in ("down", "up"):
            active = (self.last[d] - self.first[d]) if self.first[d] is not None else 0.0
            out[d] = {
                "bytes": self.bytes[d],
                "active_s": round(active, 4),
                "waited_connection_s": round(self.waited[d]["connection"], 4),
                "waited_total_s": round(self.waited[d]["total"], 4),
                "first": self.first[d],
                "last": self.last[d],
            }
        return out


class Direction:
    """One direction of a link: its shared bucket plus the calling connection's own."""

    def __init__(self, link: Link, name: str, total: TokenBucket):
        self.link = link
        self.name = name
        self.total = total

    @property
    def limited(self) -> bool:
        return self.total.limited or self.link.conn_rate is not None

    def consume(self, nbytes: int) -> None:
        if not self.limited or nbytes <= 0:
            return
        conn = self.link.current()
        now = time.monotonic()
        ends = {}
        own = conn.buckets[self.name]
        if own.limited:
            ends["connection"] = own.reserve(nbytes, now)
        if self.total.limited:
            ends["total"] = self.total.reserve(nbytes, now)
        until = max(ends.values())
        # The bucket whose booking ends last is the one that held the bytes back.
        binding = max(ends, key=ends.get)
        waited = max(0.0, until - now)
        conn.waited[self.name][binding] += waited
        conn.bytes[self.name] += nbytes
        if conn.first[self.name] is None:
            conn.first[self.name] = time.time()
        conn.last[self.name] = time.time() + waited
        if waited > 0:
            time.sleep(waited)


class Link:
    """Both directions of one hub's link (as seen from the hub: `down` = served to clients)."""

    def __init__(self, mb_per_s: float | None, conn_mb_per_s: float | None = None):
        self.conn_rate = conn_mb_per_s or None
        self.down = Direction(self, "down", TokenBucket(mb_per_s))
        self.up = Direction(self, "up", TokenBucket(mb_per_s))
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._connections: collections.deque = collections.deque(maxlen=CONNECTIONS_KEPT)

    def current(self) -> _Connection:
        """The calling thread's connection, created on its first shaped byte."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = _Connection(next(self._ids), self.conn_rate, self.conn_rate)
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def connections(self) -> dict:
        """Per-connection accounting: bytes each way, how long each connection was active and how
        long the connection's own bucket or the shared one held it back."""
        with self._lock:
            conns = list(self._connections)
        return {
            "total_mb_per_s": self.down.total.rate / 1e6 if self.down.total.rate else None,
            "connection_mb_per_s": self.conn_rate,
            "connections": [c.record() for c in conns],
        }

    @property
    def chunk_size(self) -> int:
        # Small chunks when shaped so many connections interleave smoothly.
        return 64 * 1024 if self.down.limited else 1024 * 1024
