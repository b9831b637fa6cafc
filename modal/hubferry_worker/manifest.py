"""File manifests: what a repo holds (path, size, sha256, git blob id), the platform-file rule,
content hashing, and the one comparison rule used for skipping and verifying.

The worker selects no files by pattern: the orchestrator's plan lists them (docs/job-file.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Files each platform generates for itself (LFS tracking rules differ between hubs): never copied,
# never counted as missing or extra when verifying.
PLATFORM_FILES = frozenset({".gitattributes"})
HASH_CHUNK = 8 * 1024 * 1024
# Both hubs store files above 10 MB through LFS (sha256 known on every listing).
GIT_OID_MAX_SIZE = 10 * 1024 * 1024


@dataclass(slots=True)
class Entry:
    """A file as one side knows it. Hashes are lowercase hex or None when that side does not say.

    A job holds one per file for its whole run (the manifest, and the destination's listing while
    it is compared), so it has slots and no `__dict__`."""

    path: str
    size: int
    sha256: str | None = None
    git_oid: str | None = None


def lower_hex(digest: str | None) -> str | None:
    """A hash as lowercase hex, the same string when it already is (listings of many files keep
    one copy of each digest, not two)."""
    return digest if not digest or digest.islower() else digest.lower()


def is_platform_file(path: str) -> bool:
    return path in PLATFORM_FILES


def git_blob_oid_of_bytes(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hash_file(path: Path, need_git_oid: bool = False) -> tuple[int, str, str | None]:
    """(size, sha256, git blob sha1) of a local file, in one read. The git blob id is only
    computed up to GIT_OID_MAX_SIZE: larger files are LFS files everywhere, compared by sha256."""
    size = path.stat().st_size
    sha = hashlib.sha256()
    wanted = need_git_oid or size <= GIT_OID_MAX_SIZE
    git = hashlib.sha1(b"blob %d\0" % size) if wanted else None
    # One buffer, no larger than the file: `read(HASH_CHUNK)` would allocate HASH_CHUNK bytes per
    # call even for a file of a few bytes, which many parallel downloads turn into a peak.
    buf = bytearray(max(1, min(HASH_CHUNK, size)))
    view = memoryview(buf)
    with open(path, "rb") as f:
        while n := f.readinto(buf):
            sha.update(view[:n])
            if git is not None:
                git.update(view[:n])
    return size, sha.hexdigest(), git.hexdigest() if git is not None else None


def same_content(a: Entry, b: Entry) -> bool | None:
    """True/False when the two entries can be compared, None when no common hash is known.

    Sizes must agree; then sha256 decides when both sides have it, else the git blob id.
    """
    if a.size != b.size:
        return False
    if a.sha256 and b.sha256:
        return a.sha256 == b.sha256
    if a.git_oid and b.git_oid:
        return a.git_oid == b.git_oid
    return None


class ContentMismatch(Exception):
    """Staged bytes differ from what the source manifest says (size or sha256)."""


_meter = threading.local()


@contextlib.contextmanager
def metered_reads(meter: Callable[[int], None]) -> Iterator[None]:
    """Upload bodies built by the current thread report how many bytes they have read to
    `meter`. The hub adapter builds the body inside the SDK call, so the caller cannot hand
    the meter over any other way."""
    previous = getattr(_meter, "fn", None)
    _meter.fn = meter
    try:
        yield
    finally:
        _meter.fn = previous


def current_meter() -> Callable[[int], None] | None:
    """The meter `metered_reads` set for the current thread, if any."""
    return getattr(_meter, "fn", None)


class VerifyingReader:
    """Upload body that hashes its source (a staged file, or a download streaming in) as it is
    read and withholds the final chunk until the sha256 matches `expected`: corrupt bytes can never
    complete an upload, so a content-addressed hub never stores wrong bytes under the manifest's
    oid. One read serves both the upload and the integrity check. Bytes read (and verified, for
    the last chunk) go to the meter of `metered_reads`, if one is set. `what` names the source in
    errors."""

    CHUNK = 1024 * 1024

    def __init__(self, f, size: int, expected: str, path: str, what: str = "staged copy"):
        self.f = f
        self.size = size
        self.expected = expected
        self.path = path
        self.what = what
        self.pos = 0
        self.mismatch: str | None = None
        self._sha = hashlib.sha256()
        self._meter = current_meter()
        if size == 0:
            self._check()

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        return iter(self.read, b"")

    def _check(self) -> None:
        if self._sha.hexdigest() != self.expected:
            self.mismatch = f"{self.path}: sha256 mismatch in the {self.what}; fetching again"
            raise ContentMismatch(self.mismatch)

    def read(self, n: int = -1) -> bytes:
        chunk = self.f.read(self.CHUNK)
        if not chunk:
            if self.pos != self.size:
                self.mismatch = f"{self.path}: {self.what} has {self.pos} of {self.size} bytes"
                raise ContentMismatch(self.mismatch)
            return b""
        self._sha.update(chunk)
        self.pos += len(chunk)
        if self.pos >= self.size:
            if self.pos > self.size:
                self.mismatch = f"{self.path}: {self.what} is larger than {self.size} bytes"
                raise ContentMismatch(self.mismatch)
            self._check()
        if self._meter is not None:
            self._meter(self.pos)
        return chunk


class ChunkReader:
    """A file-like `read()` over an iterator of byte chunks (an HTTP response body being
    downloaded): each read hands over the next chunk, so nothing beyond one chunk is buffered."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    def read(self, n: int = -1) -> bytes:
        for chunk in self._chunks:
            if chunk:
                return chunk
        return b""
